/*
 * Native libzmq peer for the Privateer benchmarks: the baseline of what the
 * C library itself does on this machine. It plays the same roles, takes the
 * same key=value parameters and prints the same JSON lines as the Node peer
 * (bench/peer.ts, bench/harness/protocol.ts), so scenarios run it unchanged.
 *
 *   cc -O2 -o peer peer.c -lzmq -lpthread
 *   ./peer <role> key=value ...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static int n_params;
static char **params;
static void *ctx;

static void emit(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    /* The parent waits on these lines: they must not sit in a stdio buffer. */
    fflush(stdout);
}

static void fail(const char *what) {
    emit("{\"event\":\"error\",\"message\":\"%s: %s\"}", what, zmq_strerror(zmq_errno()));
    exit(1);
}

#define CHECK(call) \
    do { \
        if ((call) < 0) fail(#call); \
    } while (0)

static const char *param(const char *key) {
    size_t len = strlen(key);
    for (int i = 0; i < n_params; i++)
        if (strncmp(params[i], key, len) == 0 && params[i][len] == '=') return params[i] + len + 1;
    emit("{\"event\":\"error\",\"message\":\"parameter %s missing\"}", key);
    exit(1);
}

static double num(const char *key) { return atof(param(key)); }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long rss_bytes(void) {
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void *make_socket(int type) {
    void *s = zmq_socket(ctx, type);
    if (!s) fail("zmq_socket");
    int zero = 0;
    CHECK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
    return s;
}

static void set_int(void *s, int option, int value) { CHECK(zmq_setsockopt(s, option, &value, sizeof value)); }

/* Binds to an ephemeral loopback port and tells the parent where. */
static void bind_and_announce(void *s) {
    char endpoint[256];
    size_t len = sizeof endpoint;
    CHECK(zmq_bind(s, "tcp://127.0.0.1:*"));
    CHECK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &len));
    emit("{\"event\":\"ready\",\"endpoint\":\"%s\"}", endpoint);
}

/* Receives one whole message; returns its size in bytes. */
static size_t recv_message(void *s) {
    size_t bytes = 0;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        CHECK(zmq_msg_recv(&part, s, 0));
        bytes += zmq_msg_size(&part);
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    return bytes;
}

/*
 * Receives a whole message and checks its size (all frames together):
 * anything but `expect` bytes means the run measured something else, and
 * it fails, as bench/harness/loops.ts's checkedSize does for Node peers.
 */
static size_t recv_checked(void *s, size_t expect, const char *who) {
    size_t bytes = recv_message(s);
    if (bytes != expect) {
        emit("{\"event\":\"error\",\"message\":\"%s: received a message of %zu bytes, expected %zu\"}", who, bytes, expect);
        exit(1);
    }
    return bytes;
}

/* Receives a whole message and sends it straight back: REP and ROUTER echo. */
static void echo_message(void *s) {
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        CHECK(zmq_msg_recv(&part, s, 0));
        more = zmq_msg_more(&part);
        CHECK(zmq_msg_send(&part, s, more ? ZMQ_SNDMORE : 0));
    }
}

/* The measured window after a warm-up, as in bench/harness/loops.ts; every message must be `expect` bytes. */
static void receive_window(void *s, double warmup, double window, long max, size_t expect) {
    recv_checked(s, expect, "receiver");
    double warm_end = now_ms() + warmup;
    while (now_ms() < warm_end) recv_checked(s, expect, "receiver");
    double start = now_ms(), end = start + window, now = start;
    long count = 0;
    double bytes = 0;
    while (count < max && now < end) {
        bytes += recv_checked(s, expect, "receiver");
        count++;
        now = now_ms();
    }
    emit("{\"event\":\"result\",\"count\":%ld,\"bytes\":%.0f,\"elapsedMs\":%.3f}", count, bytes, now - start);
}

static void role_pull_recv(void) {
    void *pull = make_socket(ZMQ_PULL);
    set_int(pull, ZMQ_RCVTIMEO, (int)num("stall"));
    bind_and_announce(pull);
    receive_window(pull, num("warmup"), num("window"), (long)num("max"), (size_t)num("expect"));
    zmq_close(pull);
}

static void role_push_send(void) {
    void *push = make_socket(ZMQ_PUSH);
    CHECK(zmq_connect(push, param("endpoint")));
    size_t size = (size_t)num("size");
    char *body = malloc(size);
    memset(body, 0x5a, size);
    double deadline = now_ms() + num("limit");
    long max = (long)num("max"), sent = 0;
    while (sent < max && now_ms() < deadline) {
        CHECK(zmq_send(push, body, size, 0));
        sent++;
    }
    emit("{\"event\":\"done\",\"sent\":%ld}", sent);
    free(body);
    zmq_close(push);
}

static void role_rep_echo(void) {
    void *rep = make_socket(ZMQ_REP);
    set_int(rep, ZMQ_RCVTIMEO, (int)num("stall"));
    bind_and_announce(rep);
    double deadline = now_ms() + num("limit");
    while (now_ms() < deadline) echo_message(rep);
    zmq_close(rep);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void role_req_rtt(void) {
    void *req = make_socket(ZMQ_REQ);
    set_int(req, ZMQ_RCVTIMEO, (int)num("stall"));
    CHECK(zmq_connect(req, param("endpoint")));
    size_t size = (size_t)num("size"), expect = (size_t)num("expect");
    char *body = malloc(size);
    memset(body, 0x5a, size);
    double warm_end = now_ms() + num("warmup");
    do {
        CHECK(zmq_send(req, body, size, 0));
        recv_checked(req, expect, "req-rtt");
    } while (now_ms() < warm_end);
    long max = (long)num("max"), count = 0;
    double *samples = malloc(sizeof(double) * max);
    double start = now_ms(), end = start + num("window"), now = start, bytes = 0;
    while (count < max && now < end) {
        CHECK(zmq_send(req, body, size, 0));
        bytes += recv_checked(req, expect, "req-rtt");
        double after = now_ms();
        samples[count++] = after - now;
        now = after;
    }
    qsort(samples, count, sizeof(double), by_value);
    /* Nearest rank, as bench/harness/stats.ts computes it. */
    long p50 = (long)(0.5 * count + 0.999999) - 1, p99 = (long)(0.99 * count + 0.999999) - 1;
    emit("{\"event\":\"result\",\"count\":%ld,\"bytes\":%.0f,\"elapsedMs\":%.3f,\"p50Us\":%.3f,\"p99Us\":%.3f}", count, bytes, now - start,
         samples[p50 < 0 ? 0 : p50] * 1000, samples[p99 < 0 ? 0 : p99] * 1000);
    free(samples);
    free(body);
    zmq_close(req);
}

static void role_router_echo(void) {
    void *router = make_socket(ZMQ_ROUTER);
    set_int(router, ZMQ_RCVTIMEO, (int)num("stall"));
    bind_and_announce(router);
    double deadline = now_ms() + num("limit");
    while (now_ms() < deadline) echo_message(router);
    zmq_close(router);
}

static void role_dealer_flight(void) {
    void *dealer = make_socket(ZMQ_DEALER);
    set_int(dealer, ZMQ_RCVTIMEO, (int)num("stall"));
    CHECK(zmq_connect(dealer, param("endpoint")));
    size_t size = (size_t)num("size"), expect = (size_t)num("expect");
    char *body = malloc(size);
    memset(body, 0x5a, size);
    int inflight = (int)num("inflight");
    for (int i = 0; i < inflight; i++) CHECK(zmq_send(dealer, body, size, 0));
    double warm_end = now_ms() + num("warmup");
    do {
        recv_checked(dealer, expect, "dealer-flight");
        CHECK(zmq_send(dealer, body, size, 0));
    } while (now_ms() < warm_end);
    long max = (long)num("max"), count = 0;
    double start = now_ms(), end = start + num("window"), now = start, bytes = 0;
    while (count < max && now < end) {
        bytes += recv_checked(dealer, expect, "dealer-flight");
        CHECK(zmq_send(dealer, body, size, 0));
        count++;
        now = now_ms();
    }
    emit("{\"event\":\"result\",\"count\":%ld,\"bytes\":%.0f,\"elapsedMs\":%.3f}", count, bytes, now - start);
    free(body);
    zmq_close(dealer);
}

static void role_pub_send(void) {
    void *pub = make_socket(ZMQ_PUB);
    bind_and_announce(pub);
    size_t size = (size_t)num("size");
    char *body = malloc(size);
    memset(body, 0x5a, size);
    /* A C publisher needs no bursts: libzmq's I/O thread writes while we send. */
    double deadline = now_ms() + num("limit");
    long sent = 0;
    while (now_ms() < deadline) {
        CHECK(zmq_send(pub, body, size, 0));
        sent++;
    }
    emit("{\"event\":\"done\",\"sent\":%ld}", sent);
    free(body);
    zmq_close(pub);
}

#define MAX_SUBS 64

static void role_sub_count(void) {
    int n = (int)num("subs");
    if (n > MAX_SUBS) n = MAX_SUBS;
    zmq_pollitem_t items[MAX_SUBS];
    int got_first[MAX_SUBS] = {0};
    int waiting = n;
    for (int i = 0; i < n; i++) {
        items[i].socket = make_socket(ZMQ_SUB);
        items[i].events = ZMQ_POLLIN;
        CHECK(zmq_setsockopt(items[i].socket, ZMQ_SUBSCRIBE, "", 0));
        CHECK(zmq_connect(items[i].socket, param("endpoint")));
    }
    double stall = num("stall"), start = 0, end = 0, bytes = 0;
    long max = (long)num("max"), counted = 0;
    int expect = (int)num("expect");
    char buf[256];
    for (;;) {
        int ready = zmq_poll(items, n, (long)stall);
        if (ready < 0) fail("zmq_poll");
        if (ready == 0) {
            emit("{\"event\":\"error\",\"message\":\"subscribers stalled for %.0f ms\"}", stall);
            exit(1);
        }
        double now = now_ms();
        if (waiting == 0 && (now >= end || counted >= max)) break;
        for (int i = 0; i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN)) continue;
            /* Drain what is there: one poll per message would measure zmq_poll. */
            int got;
            while ((got = zmq_recv(items[i].socket, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0) {
                /* zmq_recv returns the message's full size even when it truncates: a wrong size is never missed. */
                if (got != expect) {
                    emit("{\"event\":\"error\",\"message\":\"subscriber %d: received a message of %d bytes, expected %d\"}", i,
                         got, expect);
                    exit(1);
                }
                if (!got_first[i]) {
                    got_first[i] = 1;
                    if (--waiting == 0) {
                        start = now_ms() + num("warmup");
                        end = start + num("window");
                    }
                } else if (waiting == 0 && now >= start) {
                    counted++;
                    bytes += got;
                }
            }
        }
    }
    emit("{\"event\":\"result\",\"count\":%ld,\"bytes\":%.0f,\"elapsedMs\":%.3f}", counted, bytes, end - start);
    for (int i = 0; i < n; i++) zmq_close(items[i].socket);
}

struct inproc_sender {
    void *push;
    size_t size;
    double deadline;
    volatile int stop;
};

static void *inproc_send_loop(void *arg) {
    struct inproc_sender *s = arg;
    char *body = malloc(s->size);
    memset(body, 0x5a, s->size);
    while (!s->stop && now_ms() < s->deadline) {
        /* A send timeout lets the loop notice `stop` even when the pipe is full. */
        if (zmq_send(s->push, body, s->size, 0) < 0 && zmq_errno() != EAGAIN) break;
    }
    free(body);
    return NULL;
}

static void role_inproc_pushpull(void) {
    char address[64];
    snprintf(address, sizeof address, "inproc://bench-%d", (int)getpid());
    void *pull = make_socket(ZMQ_PULL);
    set_int(pull, ZMQ_RCVTIMEO, (int)num("stall"));
    CHECK(zmq_bind(pull, address));
    struct inproc_sender sender = {make_socket(ZMQ_PUSH), (size_t)num("size"), now_ms() + num("limit"), 0};
    set_int(sender.push, ZMQ_SNDTIMEO, 100);
    CHECK(zmq_connect(sender.push, address));
    pthread_t thread;
    pthread_create(&thread, NULL, inproc_send_loop, &sender);
    receive_window(pull, num("warmup"), num("window"), (long)num("max"), (size_t)num("expect"));
    sender.stop = 1;
    pthread_join(thread, NULL);
    zmq_close(sender.push);
    zmq_close(pull);
}

static void role_router_idle(void) {
    void *router = make_socket(ZMQ_ROUTER);
    set_int(router, ZMQ_BACKLOG, (int)num("backlog"));
    set_int(router, ZMQ_RCVTIMEO, (int)num("stall"));
    bind_and_announce(router);
    long before = rss_bytes();
    long n = (long)num("n"), greeted = 0;
    double deadline = now_ms() + num("limit");
    while (greeted < n && now_ms() < deadline) {
        recv_message(router);
        greeted++;
    }
    usleep(200 * 1000);
    emit("{\"event\":\"result\",\"connections\":%ld,\"rssBytes\":%ld}", greeted, rss_bytes() - before);
    zmq_close(router);
}

static void role_pub_stalled(void) {
    void *pub = make_socket(ZMQ_PUB);
    set_int(pub, ZMQ_SNDHWM, (int)num("hwm"));
    bind_and_announce(pub);
    char line[64];
    /* The parent says "go" once the stalled subscriber has subscribed. */
    while (fgets(line, sizeof line, stdin) && strncmp(line, "go", 2) != 0) {
    }
    size_t size = (size_t)num("size");
    char *body = malloc(size);
    memset(body, 0x5a, size);
    long count = (long)num("count"), sent = 0;
    long every = count / (long)num("samples");
    if (every < 1) every = 1;
    long base = rss_bytes(), peak = base;
    double start = now_ms(), deadline = start + num("limit");
    while (sent < count && now_ms() < deadline) {
        CHECK(zmq_send(pub, body, size, 0));
        sent++;
        if (sent % every == 0) {
            long rss = rss_bytes();
            if (rss > peak) peak = rss;
        }
    }
    double elapsed = now_ms() - start;
    emit("{\"event\":\"result\",\"sent\":%ld,\"elapsedMs\":%.3f,\"rssPeak\":%ld,\"rssEnd\":%ld,\"rssBase\":%ld}", sent,
         elapsed, peak - base, rss_bytes() - base, base);
    free(body);
    zmq_close(pub);
}

struct role {
    const char *name;
    void (*run)(void);
};

static const struct role roles[] = {
    {"pull-recv", role_pull_recv},         {"push-send", role_push_send},
    {"rep-echo", role_rep_echo},           {"req-rtt", role_req_rtt},
    {"router-echo", role_router_echo},     {"dealer-flight", role_dealer_flight},
    {"pub-send", role_pub_send},           {"sub-count", role_sub_count},
    {"inproc-pushpull", role_inproc_pushpull}, {"router-idle", role_router_idle},
    {"pub-stalled", role_pub_stalled},
};

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <role> key=value...\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "version") == 0) {
        int major, minor, patch;
        zmq_version(&major, &minor, &patch);
        emit("{\"event\":\"version\",\"version\":\"%d.%d.%d\"}", major, minor, patch);
        return 0;
    }
    n_params = argc - 2;
    params = argv + 2;
    ctx = zmq_ctx_new();
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(roles[i].name, argv[1]) != 0) continue;
        roles[i].run();
        zmq_ctx_term(ctx);
        return 0;
    }
    emit("{\"event\":\"error\",\"message\":\"unknown role %s\"}", argv[1]);
    return 2;
}
