"""The trigger target of boto3_user_pool_triggers_test.py, as a command or behind its webhook.

As a command: `python3 idp_trigger_hook.py <dir> trigger` (event on stdin, reply on stdout, exit
status) or `... <dir> delivery` (the code delivery hook: records the envelope, replies {}).
The webhook imports answer().

Every event is appended to <dir>/events.jsonl ({"via", "event"}), every delivery to
<dir>/deliveries.jsonl. What to answer comes from the test's plan for the pool,
<dir>/plans/<userPoolId>.json: {triggerSource or "*": step}, a step being
  response: {...}    merged into the event's response (the reply is the whole event)
  raw: "..."         the reply text instead
  exit: n            the command's exit status (0)        status: n   the webhook's (200)
  stderr: "..."      written to stderr (command)
  sleep: s           seconds to wait before answering, on the first `sleep_attempts`
                     calls of that (pool, triggerSource) (default: every call)
"""
import fcntl
import json
import os
import sys
import time


def _append(path, entry):
    with open(path, 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(entry) + '\n')


def _attempt(root, pool, source):
    """1 for the first call of (pool, source), then 2, ..."""
    path = os.path.join(root, 'plans', f'{pool}.{source}.calls')
    with open(path, 'a+') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        n = len(f.read()) + 1
        f.write('x')
    return n


def answer(root, body, via):
    """(exit status or HTTP status, reply text, stderr text) for one event."""
    event = json.loads(body)
    _append(os.path.join(root, 'events.jsonl'), {'via': via, 'event': event})
    pool, source = event['userPoolId'], event['triggerSource']
    try:
        with open(os.path.join(root, 'plans', pool + '.json')) as f:
            plans = json.load(f)
    except FileNotFoundError:
        plans = {}
    step = plans.get(source, plans.get('*', {}))
    attempt = _attempt(root, pool, source)
    if 'sleep' in step and attempt <= step.get('sleep_attempts', 1 << 30):
        time.sleep(step['sleep'])
    event['response'].update(step.get('response', {}))
    reply = step['raw'] if 'raw' in step else json.dumps(event)
    code = step.get('status', 200) if via == 'webhook' else step.get('exit', 0)
    return code, reply, step.get('stderr', '')


def main():
    root, mode = sys.argv[1], sys.argv[2]
    body = sys.stdin.read()
    if mode == 'delivery':
        _append(os.path.join(root, 'deliveries.jsonl'), json.loads(body))
        sys.stdout.write('{}')
        return 0
    code, reply, err = answer(root, body, 'command')
    sys.stdout.write(reply)
    sys.stderr.write(err)
    return code


if __name__ == '__main__':
    sys.exit(main())
