/*
 * remedyd - human-in-the-loop remediation daemon for Kubernetes.
 *
 * main() wires the modules together on one libuv loop: config, kubeconfig,
 * store, HTTP, the engine (informers -> incidents -> diagnosis -> pending
 * actions; approved -> applied -> verified) and the control socket.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "analyze_cmd.h"
#include "base/authz.h"
#include "base/http.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/notify.h"
#include "base/util.h"
#include "base/version.h"
#include "commands.h"
#include "conf/config.h"
#include "control.h"
#include "engine.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/lease.h"
#include "leader.h"
#include "service.h"
#include "store/store.h"

#define DEFAULT_CONFIG	"/etc/remedyd/remedyd.yaml"
#define DRAIN_TIMEOUT_MS 20000

struct remedyd {
	uv_loop_t		 loop;
	struct remedy_config	 cfg;
	struct kube_config	 kc;
	struct store		*store;
	struct http		*http;
	struct kube_client	*kube;
	struct lease		*lease;		/* leader election, or NULL */
	int			 lease_released;
	struct control		*control;
	struct authz		 authz;
	struct notify		*notify;
	struct engine		 engine;
	struct cmd_ctx		 cmd;
	struct service		 svc;		/* sd_notify, /metrics, reload */
	const char		*conffile;
	uv_signal_t		 sigterm, sigint, sighup;
	uv_timer_t		 drain_timer;
	int			 shutting_down;
};

static void
help(FILE *fp)
{
	fprintf(fp, "usage: remedyd [-hnv] [-c FILE] [--version] [version]\n"
	    "       remedyd analyze [options]   look once, report, exit "
	    "(remedyd analyze --help)\n"
	    "  -c, --config FILE  configuration (default " DEFAULT_CONFIG
	    ")\n"
	    "  -n, --check        check the configuration and exit\n"
	    "  -v, --verbose      more verbose; with -n, print the "
	    "configuration\n"
	    "  -h, --help         this help\n"
	    "      --version      the version and the commit it was built "
	    "from\n"
	    "  version            the same, as a command\n");
}

/* A usage error: one line naming the problem, exit 2. */
static void __attribute__((noreturn))
usage(const char *what, const char *arg)
{
	if (what != NULL)
		fprintf(stderr, "remedyd: %s%s%s%s\n", what, arg ? " \"" : "",
		    arg ? arg : "", arg ? "\"" : "");
	fprintf(stderr, "usage: remedyd [-hnv] [-c FILE] [--version] "
	    "[version]; \"remedyd --help\" describes them\n");
	exit(2);
}

static void
version(void)
{
	printf("remedyd %s (commit %s)\n", remedy_version(), remedy_commit());
}

/* Close everything that keeps the loop alive; uv_run then returns. */
static void
finish(void *arg)
{
	struct remedyd *d = arg;

	if (d->control != NULL) {
		control_free(d->control);
		d->control = NULL;
		d->cmd.control = NULL;
	}
	if (d->notify != NULL) {
		notify_free(d->notify);
		d->notify = NULL;
		d->cmd.notify = NULL;
	}
	if (d->lease != NULL) {
		lease_free(d->lease);
		d->lease = NULL;
		d->engine.lease = NULL;
	}
	if (d->kube != NULL) {
		kube_client_free(d->kube);
		d->kube = NULL;
	}
	if (d->http != NULL) {
		http_free(d->http);
		d->http = NULL;
	}
	service_close(&d->svc);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_close((uv_handle_t *)&d->drain_timer, NULL);
}

static void
on_drain_timeout(uv_timer_t *t)
{
	log_warnx("applies still in flight after %ds; stopping anyway",
	    DRAIN_TIMEOUT_MS / 1000);
	finish(t->data);
}

static void
on_drained_safe(uv_timer_t *t)
{
	finish(t->data);
}

/*
 * Called by the engine, perhaps from inside the callback of the last
 * request (apply_done), whose client must not be freed under it: finish
 * on the next loop iteration instead.
 */
static void
on_drained(void *arg)
{
	struct remedyd *d = arg;

	if (d->lease != NULL && !d->lease_released) {
		/* hand over at once: the drain timeout still bounds this */
		d->lease_released = 1;
		lease_release(d->lease, on_drained, d);
		return;
	}
	if (uv_is_closing((uv_handle_t *)&d->drain_timer))
		return;		/* the drain timeout already finished */
	uv_timer_stop(&d->drain_timer);
	uv_timer_start(&d->drain_timer, on_drained_safe, 0, 0);
}

/*
 * The roles and the agents' caps as the running configuration has them:
 * at start, and after a reload swapped in new lists (service.h).  The
 * control socket reads the roles at accept, the commands the caps at
 * each proposal.
 */
static void
use_roles(void *arg)
{
	struct remedyd *d = arg;

	d->authz.viewers = d->cfg.control_viewers;
	d->authz.approvers = d->cfg.control_approvers;
	d->authz.proposers = d->cfg.control_proposers;
	d->authz.root_role = d->cfg.control_root_role;
	d->cmd.agent_pending = d->cfg.control_agent_pending;
	d->cmd.agent_per_min = d->cfg.control_agent_per_min;
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct remedyd *d = s->data;

	if (signum == SIGHUP) {
		if (!d->shutting_down)
			service_reload(&d->svc, d->conffile);
		return;
	}
	if (d->shutting_down)
		return;
	d->shutting_down = 1;
	log_info("%s: shutting down (%u request%s in flight)",
	    signum == SIGTERM ? "SIGTERM" : "SIGINT", d->engine.inflight,
	    d->engine.inflight == 1 ? "" : "s");
	service_stopping(&d->svc, "stopping: draining in-flight applies");
	uv_timer_start(&d->drain_timer, on_drain_timeout, DRAIN_TIMEOUT_MS, 0);
	engine_stop(&d->engine, on_drained, d);
}

static int
check_config(const char *path, struct remedy_config *cfg)
{
	char	*errs = NULL;
	int	 n;

	config_init(cfg);
	n = config_load(path, cfg, &errs);
	if (n > 0) {
		fputs(errs, stderr);
		fprintf(stderr, "remedyd: %d error%s in %s\n", n,
		    n == 1 ? "" : "s", path);
	}
	free(errs);
	return n;
}

int
main(int argc, char *argv[])
{
	struct remedyd	 d;
	const char	*conffile = DEFAULT_CONFIG;
	char		 err[1024], *dump;
	int		 ch, noaction = 0, verbose = 0, rc = 1;

	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "check",	no_argument,		NULL, 'n' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};

	/* "remedyd [-c FILE] analyze ...": the one-shot mode's own options */
	for (ch = 1; ch < argc; ch++) {
		if (strcmp(argv[ch], "--") == 0)
			break;
		if (strcmp(argv[ch], "analyze") == 0 && (ch == 1 ||
		    (strcmp(argv[ch - 1], "-c") != 0 &&
		    strcmp(argv[ch - 1], "--config") != 0)))
			return analyze_main(argc, argv);
	}
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:nvh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			help(stdout);
			return 0;
		case 'V':
			version();
			return 0;
		case ':':
			usage("this option needs a value:", argv[optind - 1]);
		default:
			usage("unknown option", optopt ? (char[]){ '-',
			    (char)optopt, '\0' } : argv[optind - 1]);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind], "version") == 0 &&
		    optind + 1 == argc) {
			version();
			return 0;
		}
		usage("unexpected argument", argv[optind]);
	}

	memset(&d, 0, sizeof(d));
	if (check_config(conffile, &d.cfg) > 0) {
		config_clear(&d.cfg);
		return 1;
	}
	if (noaction) {
		if (verbose && (dump = config_dump(&d.cfg)) != NULL) {
			fputs(dump, stdout);
			free(dump);
		}
		fprintf(stderr, "configuration OK\n");
		config_clear(&d.cfg);
		return 0;
	}
	log_init(verbose ? LOG_DEBUG : d.cfg.log_level);
	signal(SIGPIPE, SIG_IGN);

	if (kubeconfig_load(d.cfg.kubeconfig, d.cfg.context, &d.kc, err,
	    sizeof(err)) == -1) {
		log_errx("%s", err);
		goto out;
	}
	if ((d.store = store_open(d.cfg.store_path, err, sizeof(err))) ==
	    NULL) {
		log_errx("store: %s", err);
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_errx("libcurl initialisation failed");
		goto out;
	}
	uv_loop_init(&d.loop);
	if ((d.http = http_new(&d.loop)) == NULL ||
	    (d.kube = kube_client_new(d.http, &d.kc, err, sizeof(err))) ==
	    NULL) {
		log_errx("kubernetes client: %s", d.http ? err :
		    "out of memory");
		goto loop_out;
	}
	d.cmd.store = d.store;
	d.cmd.started_ms = now_ms();
	d.cmd.synced = engine_synced;
	d.cmd.approved = engine_approved;
	d.cmd.arg = &d.engine;
	d.cmd.two_person = d.cfg.control_two_person;
	d.cmd.policy = &d.cfg.policy;
	d.cmd.propose = engine_agent_propose;
	d.cmd.diag_counts = engine_diag_counts;
	if (d.cfg.webhooks != NULL && d.cfg.webhooks[0] != NULL &&
	    (d.notify = d.cmd.notify = notify_new(&d.loop, d.http,
	    d.cfg.webhooks)) == NULL) {
		log_errx("webhooks: out of memory");
		goto loop_out;
	}
	use_roles(&d);
	d.authz.self_uid = getuid();
	{
		struct control_opts o = {
			.path = d.cfg.control_socket,
			.group = d.cfg.control_group,
			.idle_ms = d.cfg.control_idle_ms,
			.max_per_uid = d.cfg.control_max_per_uid,
			.authz = &d.authz,
			.denied = cmd_denied,
			.before = cmd_before,
		};

		if ((d.control = d.cmd.control = control_new(&d.loop, &o,
		    remedyd_commands, &d.cmd, err, sizeof(err))) == NULL) {
			log_errx("control socket: %s", err);
			goto loop_out;
		}
	}
	d.conffile = conffile;
	if (service_start(&d.svc, &d.loop, &d.cfg, d.store, &d.engine, err,
	    sizeof(err)) == -1) {
		log_errx("%s", err);
		goto loop_out;
	}
	d.svc.reloaded = use_roles;
	d.svc.reloaded_arg = &d;
	{
		/* The API key is checked before anything starts. */
		char *key = NULL;

		if (diag_api_key(&d.cfg.diag, &key, err, sizeof(err)) == -1) {
			log_errx("diagnosis: %s", err);
			goto loop_out;
		}
		if (key != NULL) {
			explicit_bzero(key, strlen(key));
			free(key);
		}
	}
	kube_client_set_rate(d.kube, d.cfg.kube_qps, d.cfg.kube_burst);
	kube_client_set_watch_stall(d.kube,
	    (long)(d.cfg.kube_watch_stall_ms / 1000));
	d.lease = d.engine.lease = leader_start(&d.loop, d.kube, &d.cfg, &d.kc,
	    &d.engine);
	if (engine_start(&d.engine, &d.loop, &d.cfg, d.store, d.kube) == -1) {
		log_errx("cannot start: out of memory");
		goto loop_out;
	}
	if (engine_diag_init(&d.engine, d.http, err, sizeof(err)) == -1)
		log_warnx("diagnosis: %s; using the rules backend", err);
	d.engine.on_action = cmd_action_event;
	d.engine.on_action_arg = &d.cmd;
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sighup);
	uv_timer_init(&d.loop, &d.drain_timer);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	d.drain_timer.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	log_info("remedyd %s (commit %s) started: cluster %s (context %s), "
	    "socket %s, store %s, backend %s", remedy_version(),
	    remedy_commit(), d.kc.server,
	    d.kc.context ? d.kc.context : "-", d.cfg.control_socket,
	    d.cfg.store_path, d.cfg.backend);

	uv_run(&d.loop, UV_RUN_DEFAULT);
	rc = 0;
	log_info("stopped");
	goto closed;
loop_out:
	if (d.control != NULL)
		control_free(d.control);
	if (d.notify != NULL)
		notify_free(d.notify);
	d.notify = d.cmd.notify = NULL;
	if (d.lease != NULL)
		lease_free(d.lease);
	d.lease = d.engine.lease = NULL;
	if (d.kube != NULL)
		kube_client_free(d.kube);
	if (d.http != NULL)
		http_free(d.http);
	d.control = NULL;
	d.kube = NULL;
	d.http = NULL;
	service_close(&d.svc);
	uv_run(&d.loop, UV_RUN_DEFAULT);
closed:
	engine_free(&d.engine);
	metrics_reset();
	if (uv_loop_close(&d.loop) != 0)
		log_warnx("event loop closed with handles still open");
	curl_global_cleanup();
out:
	store_close(d.store);
	kube_config_clear(&d.kc);
	config_clear(&d.cfg);
	return rc;
}
