/* Ground truth for recorder/tests/record_ground_truth.rs: makes calls whose
 * kernel-side object is known (it logs nothing; the test knows the layout).
 *
 *   ground_truth paths DIR   dirfd-relative second paths, `..` after a
 *                            symlink, chdir/fchdir, a cut base path
 *   ground_truth calls DIR   fcntl dups, failed execs, a bad second path,
 *                            O_TMPFILE named by linkat(AT_EMPTY_PATH),
 *                            a socket's dup2, AF_UNIX bind and connect,
 *                            memfd_create, non-UTF-8 and
 *                            long names, unlinkat(AT_REMOVEDIR)
 *   ground_truth thread      a non-leader thread execs /bin/true
 *   ground_truth pipes DIR   pipe2 while a thread rewrites the array the
 *                            kernel fills with {5, 4}: an older pipe's
 *                            read end and a socket;
 *                            DIR/pipes holds one line per call: the two
 *                            descriptors the call really returned, then
 *                            what the array held afterwards
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *exec_true(void *arg) {
  (void)arg;
  char *av[] = {"true", "from-thread", NULL};
  execv("/bin/true", av);
  return NULL;
}

static int paths(const char *dir) {
  if (chdir(dir)) return 2;
  mkdir("d1", 0755);
  mkdir("d2", 0755);
  int d1 = open("d1", O_RDONLY | O_DIRECTORY), d2 = open("d2", O_RDONLY | O_DIRECTORY);
  close(openat(d1, "a", O_WRONLY | O_CREAT | O_EXCL, 0640));
  renameat(d1, "a", d2, "b");
  linkat(d2, "b", d1, "hard", 0);
  symlinkat("b", d2, "sym");
  syscall(SYS_renameat2, d1, "hard", d2, "hard2", 0);
  /* ls -> real/sub: ls/.. is real, not dir. */
  mkdir("real", 0755);
  mkdir("real/sub", 0755);
  symlink("real/sub", "ls");
  close(open("real/victim", O_CREAT | O_WRONLY, 0600));
  close(open("victim", O_CREAT | O_WRONLY, 0600));
  chmod("ls/../victim", 0604);
  unlink("ls/../victim");
  /* The working directory follows chdir and fchdir. */
  chdir("d1");
  close(open("in-d1", O_CREAT | O_WRONLY, 0600));
  fchdir(d2);
  close(open("in-d2", O_CREAT | O_WRONLY, 0600));
  chdir("../ls/..");
  close(open("in-real", O_CREAT | O_WRONLY, 0600));
  /* A base too long for the kernel's walk: 9 x 100 bytes. */
  char comp[101];
  memset(comp, 'x', 100);
  comp[100] = 0;
  for (int i = 0; i < 9; i++) {
    mkdir(comp, 0755);
    if (chdir(comp)) return 3;
  }
  close(open("deep.txt", O_CREAT | O_WRONLY, 0600));
  unlink("deep.txt");
  return 0;
}

static int calls(const char *dir) {
  if (chdir(dir)) return 2;
  int fd = open("f", O_CREAT | O_RDWR, 0600);
  fcntl(fd, F_DUPFD_CLOEXEC, 30);
  fcntl(fd, F_DUPFD, 40);
  fcntl(fd, F_GETFD);
  /* openat2 refusing a symlink: RESOLVE_NO_SYMLINKS, ELOOP. */
  symlink("f", "fl");
  struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_NO_SYMLINKS};
  syscall(SYS_openat2, AT_FDCWD, "fl", &how, sizeof how);
  char *av[] = {"x", NULL};
  execv("./nonexist-bin", av);
  execv("f", av); /* not executable: EACCES */
  rename("f", (const char *)1); /* the second path cannot be read */
  int tf = open(".", O_TMPFILE | O_RDWR, 0600);
  linkat(tf, "", AT_FDCWD, "linked", AT_EMPTY_PATH); /* names the O_TMPFILE file */
  close(tf);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  dup2(s, 50);
  /* AF_UNIX: the kernel's name of the socket bound, then connected to. */
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  snprintf(un.sun_path, sizeof un.sun_path, "%s/u.sock", dir);
  int srv = socket(AF_UNIX, SOCK_STREAM, 0), cli = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(srv, (struct sockaddr *)&un, sizeof un);
  listen(srv, 1);
  connect(cli, (struct sockaddr *)&un, sizeof un);
  /* Through a relative symlink: the kernel's object is still u.sock. */
  symlink("u.sock", "ul.sock");
  struct sockaddr_un link = {.sun_family = AF_UNIX, .sun_path = "ul.sock"};
  int cli2 = socket(AF_UNIX, SOCK_STREAM, 0);
  connect(cli2, (struct sockaddr *)&link, sizeof link);
  /* An abstract name: a NUL, then the name (the length says where it ends). */
  struct sockaddr_un ab = {.sun_family = AF_UNIX};
  memcpy(ab.sun_path, "\0hs-ground-truth", 16);
  socklen_t ablen = offsetof(struct sockaddr_un, sun_path) + 16;
  int asrv = socket(AF_UNIX, SOCK_STREAM, 0), acli = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(asrv, (struct sockaddr *)&ab, ablen);
  listen(asrv, 1);
  connect(acli, (struct sockaddr *)&ab, ablen);
  close(memfd_create("hs-evil", 0));
  const char odd[] = "n\xff\xfe.txt";
  close(open(odd, O_CREAT | O_WRONLY, 0600));
  unlink(odd);
  /* A user path longer than 255 bytes, read whole by no one. */
  char rel[512] = "", comp[101];
  memset(comp, 'y', 100);
  comp[100] = 0;
  for (int i = 0; i < 3; i++) {
    strcat(rel, comp);
    mkdir(rel, 0755);
    strcat(rel, "/");
  }
  strcat(rel, "leaf.txt");
  close(open(rel, O_CREAT | O_WRONLY, 0600));
  unlink(rel);
  mkdir("sub", 0700);
  int d = open(".", O_RDONLY | O_DIRECTORY);
  unlinkat(d, "sub", AT_REMOVEDIR);
  return 0;
}

/* The array pipe2 fills, and the number the racer writes into it. */
static int pipe_fds[2];
static volatile int racing = 1, racer_started;

/* Pins the calling thread to CPU `cpu` when there is one (best effort). */
static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)sched_setaffinity(0, sizeof set, &set);
}

static void *rewrite_pipe_fds(void *unused) {
  (void)unused;
  if (sysconf(_SC_NPROCESSORS_ONLN) > 1) pin(1);
  racer_started = 1;
  while (racing) {
    __atomic_store_n(&pipe_fds[0], 5, __ATOMIC_RELAXED);
    __atomic_store_n(&pipe_fds[1], 4, __ATOMIC_RELAXED);
  }
  return NULL;
}

/* Rewrites pipe2's array under a racing thread (the Phantom Attack on an
 * output argument: a monitor reading the numbers back at exit can be told
 * a socket is a pipe). The truth: descriptors are allocated lowest first,
 * so the call returned the two lowest free ones, found with fcntl. */
static int pipes(const char *dir) {
  char log_path[4096];
  snprintf(log_path, sizeof log_path, "%s/pipes", dir);
  FILE *log = fopen(log_path, "w");
  if (!log) return 1;
  /* fd 4: a socket, which the racer wants taken for a pipe's write end;
   * fd 5: an older pipe's read end (a monitor checking only the first
   * number's kind would be satisfied). */
  int s = socket(AF_INET, SOCK_STREAM, 0), older[2];
  if (s < 0 || (s != 4 && dup2(s, 4) != 4)) return 1;
  if (syscall(SYS_pipe, older) != 0 || (older[0] != 5 && dup2(older[0], 5) != 5)) return 1;
  /* The racer on the other CPU: sharing one, it would rarely run between
   * the kernel's write and the recorder's read. */
  if (sysconf(_SC_NPROCESSORS_ONLN) > 1) pin(0);
  pthread_t t;
  pthread_create(&t, NULL, rewrite_pipe_fds, NULL);
  while (!racer_started) sched_yield();
  /* At least 200 calls, and on until 20 of them were seen rewritten here
   * (after the recorder's read), within 20 000. */
  for (int i = 0, rewritten = 0; i < 20000 && (i < 200 || rewritten < 20); i++) {
    int truth[2], n = 0;
    for (int fd = 0; n < 2; fd++)
      if (fcntl(fd, F_GETFD) < 0) truth[n++] = fd;
    if (syscall(SYS_pipe2, pipe_fds, 0) != 0) return 1;
    int seen0 = pipe_fds[0], seen1 = pipe_fds[1];
    rewritten += seen0 != truth[0] || seen1 != truth[1];
    fprintf(log, "%d %d %d %d\n", truth[0], truth[1], seen0, seen1);
    close(truth[0]);
    close(truth[1]);
  }
  racing = 0;
  pthread_join(t, NULL);
  return fclose(log) != 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "thread")) {
    pthread_t t;
    pthread_create(&t, NULL, exec_true, NULL);
    pause();
    return 1;
  }
  if (argc > 2 && !strcmp(argv[1], "paths")) return paths(argv[2]);
  if (argc > 2 && !strcmp(argv[1], "calls")) return calls(argv[2]);
  if (argc > 2 && !strcmp(argv[1], "pipes")) return pipes(argv[2]);
  fprintf(stderr, "usage: ground_truth paths|calls|pipes DIR | thread\n");
  return 2;
}
