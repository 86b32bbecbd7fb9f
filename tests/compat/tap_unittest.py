"""Runs a unittest module and reports each test case as a TAP line (meson protocol 'tap')."""
import sys
import traceback
import unittest


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, detail=None):
        self.n += 1
        print(f'{"ok" if ok else "not ok"} {self.n} - {test.id().split(".", 1)[-1]}', flush=True)
        if detail:
            for line in detail.rstrip().splitlines():
                print('# ' + line)

    def addSuccess(self, test):
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test, ''.join(traceback.format_exception(*err)))

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test, ''.join(traceback.format_exception(*err)))

    def addSkip(self, test, reason):
        self.n += 1
        print(f'ok {self.n} - {test.id().split(".", 1)[-1]} # SKIP {reason}', flush=True)


def main(module):
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    print(f'1..{suite.countTestCases()}', flush=True)
    result = TapResult()
    suite.run(result)
    sys.exit(0 if result.wasSuccessful() else 1)
