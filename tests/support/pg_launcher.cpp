// pg_launcher: a throwaway PostgreSQL for test suites that are not C++ (the compat suites run
// against a 3-node deployment). Starts the process's PgTestCluster, makes a fresh schema, prints
// its postgresql:// URL on one line, and keeps the cluster until its stdin closes (the suite's
// fixture holds the pipe; if the suite dies, the pipe closes and the cluster is stopped by PID).
#include <iostream>
#include <string>

#include "pg_test_cluster.h"

int main(int argc, char** argv) {
  auto cluster = tether::testing::PgTestCluster::shared();
  if (!cluster.isOk()) {
    std::cerr << "pg_launcher: " << cluster.status() << "\n";
    return 1;
  }
  std::string schema = argc > 1 ? argv[1] : "compat";
  if (tether::Status s = (*cluster)->adminExec("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema);
      !s.isOk()) {
    std::cerr << "pg_launcher: " << s << "\n";
    return 1;
  }
  std::cout << (*cluster)->url(schema) << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;  // the cluster stops at exit
}
