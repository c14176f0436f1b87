#pragma once
// A built program run as its users run it, for the command-line tests
// (test_knock_cli, test_knockd_cli).

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

/// What one run of a program did.
struct ProgramRun {
  int status = -1;
  std::string out, err;
};

/// The whole of the file at `path`; empty when there is none.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs `binary` with `args` and waits for it. Its standard output and
/// error go to files in `dir`; its standard input is the file `stdin_path`
/// when one is named, else this process's; its environment is `env` when
/// given, else this process's. A death by signal is status 128.
inline ProgramRun RunProgram(const char* binary,
                             const std::vector<std::string>& args,
                             const std::string& dir,
                             const std::string& stdin_path = "",
                             const std::vector<std::string>* env = nullptr) {
  const std::string out = dir + "/stdout", err = dir + "/stderr";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!stdin_path.empty()) dup2(open(stdin_path.c_str(), O_RDONLY), 0);
    dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
    dup2(open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
    std::vector<char*> argv = {const_cast<char*>(binary)};
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (env == nullptr) {
      execv(binary, argv.data());
    } else {
      std::vector<char*> envp;
      for (const std::string& e : *env)
        envp.push_back(const_cast<char*>(e.c_str()));
      envp.push_back(nullptr);
      execve(binary, argv.data(), envp.data());
    }
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ProgramRun run;
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  return run;
}
