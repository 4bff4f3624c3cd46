/* hindsight bench record: workload and timing helper, built on the fly with
 * gcc. Modes:
 *   time OUT PROCS CMD ARGS...  move into the cgroup whose cgroup.procs is
 *                               PROCS (if not empty), run CMD, write
 *                               "<wall ns> <wait status> <CPU ns>" to OUT
 *                               (CPU: user + system time of CMD and its
 *                               descendants, and of this helper)
 *   getppid N                   N getppid() system calls
 *   openclose N PATH            N open(PATH, O_RDONLY) + close()
 *   rate RATE SECONDS THREADS OUT
 *                               getppid() from THREADS threads for SECONDS at
 *                               RATE calls/s in total (0: as fast as
 *                               possible); writes "<calls> <CPU ns>" to OUT
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* User + system time of `who` (RUSAGE_SELF or RUSAGE_CHILDREN), in ns. */
static long long cpu_ns(int who) {
    struct rusage ru;
    if (getrusage(who, &ru)) return 0;
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static int do_time(int argc, char **argv) {
    if (argc < 5) return 125;
    const char *out = argv[2], *procs = argv[3];
    if (procs[0]) {
        FILE *f = fopen(procs, "w");
        if (!f) { perror(procs); return 125; }
        fprintf(f, "%d\n", getpid());
        if (fclose(f)) { perror(procs); return 125; }
    }
    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 125; }
    if (pid == 0) {
        execvp(argv[4], argv + 4);
        perror(argv[4]);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    long long t1 = now_ns();
    FILE *f = fopen(out, "w");
    if (!f) { perror(out); return 125; }
    fprintf(f, "%lld %d %lld\n", t1 - t0, st, cpu_ns(RUSAGE_CHILDREN) + cpu_ns(RUSAGE_SELF));
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

struct rate_arg {
    double rate; /* calls/s of this thread, 0 = unpaced */
    long long end_ns;
    long long calls;
};

static void *rate_thread(void *p) {
    struct rate_arg *a = p;
    long long start = now_ns(), n = 0;
    for (;;) {
        for (int i = 0; i < 256; i++) syscall(SYS_getppid);
        n += 256;
        long long t = now_ns();
        if (t >= a->end_ns) break;
        if (a->rate > 0) {
            long long due = start + (long long)(n / a->rate * 1e9);
            if (due > t) {
                struct timespec ts = {(due - t) / 1000000000LL, (due - t) % 1000000000LL};
                nanosleep(&ts, NULL);
            }
        }
    }
    a->calls = n;
    return NULL;
}

static int do_rate(int argc, char **argv) {
    if (argc < 6) return 125;
    double rate = atof(argv[2]);
    double secs = atof(argv[3]);
    int threads = atoi(argv[4]);
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    pthread_t tid[64];
    struct rate_arg args[64];
    long long end = now_ns() + (long long)(secs * 1e9);
    for (int i = 0; i < threads; i++) {
        args[i].rate = rate / threads;
        args[i].end_ns = end;
        args[i].calls = 0;
        pthread_create(&tid[i], NULL, rate_thread, &args[i]);
    }
    long long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += args[i].calls;
    }
    FILE *f = fopen(argv[5], "w");
    if (!f) { perror(argv[5]); return 125; }
    fprintf(f, "%lld %lld\n", total, cpu_ns(RUSAGE_SELF));
    fclose(f);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 125;
    if (!strcmp(argv[1], "time")) return do_time(argc, argv);
    if (!strcmp(argv[1], "rate")) return do_rate(argc, argv);
    if (argc < 3) return 125;
    long long n = atoll(argv[2]);
    if (!strcmp(argv[1], "getppid")) {
        for (long long i = 0; i < n; i++) syscall(SYS_getppid);
        return 0;
    }
    if (!strcmp(argv[1], "openclose") && argc >= 4) {
        for (long long i = 0; i < n; i++) {
            int fd = open(argv[3], O_RDONLY);
            if (fd < 0) { perror(argv[3]); return 1; }
            close(fd);
        }
        return 0;
    }
    return 125;
}
