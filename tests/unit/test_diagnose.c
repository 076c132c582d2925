/*
 * The diagnosis library without the network: the reply schema and its
 * validator, reply parsing and the checks an action passes, the redactor
 * and anonymizer, the wire shapes of the three LLM backends, Retry-After,
 * the reply cache and budgets, the context gatherer's budget, the rules
 * backend's crash-loop, OOM and explanation paths, and the diagnosis.*
 * configuration keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action/policy.h"
#include "analyze/incident.h"
#include "base/util.h"
#include "conf/config.h"
#include "diagnose/context.h"
#include "diagnose/cost.h"
#include "diagnose/diagconf.h"
#include "diagnose/diagnose.h"
#include "diagnose/jschema.h"
#include "diagnose/llm.h"
#include "diagnose/redact.h"
#include "diagnose/reply.h"
#include "kube/objects.h"
#include "t.h"

static char tmpdir[] = "/tmp/remedy-test-diagnose-XXXXXX";

static const char *const corpus[] = {
	"pg-Pa55w0rd-9f8e7d", "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a",
	"ghp_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78", "Adm1n!Pass2024xyz",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA",
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"M0ng0-Secr3t-Pw", "9fK2xQ7vL0pR3sT8wY1zB4nM6cV5hJ2g", "hunter2-Xy9!",
	"xoxb-123456789012-abcdefghijkl", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv",
	"s3cr3tValue", "dGhpcyBpcyBhIGxvbmcgYmFzZTY0IHNlY3JldA1234",
};

static const char *const texts[] = {
	"postgres://admin:pg-Pa55w0rd-9f8e7d@db:5432/app",
	"GET /health?api_key=sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a returned 401",
	"token ghp_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78 was rejected",
	"Server=db;Database=app;User Id=sa;Password=Adm1n!Pass2024xyz;",
	"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9."
	    "c2lnbmF0dXJlLXNlY3JldA",
	"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
	"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"mongodb://root:M0ng0-Secr3t-Pw@mongo:27017/admin",
	"session established: 9fK2xQ7vL0pR3sT8wY1zB4nM6cV5hJ2g",
	"config reload: password: hunter2-Xy9! is too weak",
	"slack xoxb-123456789012-abcdefghijkl",
	"maps key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv",
	"{\"client_secret\": \"s3cr3tValue\"}",
	"blob dGhpcyBpcyBhIGxvbmcgYmFzZTY0IHNlY3JldA1234 end",
};

/* Text that must survive redaction unchanged. */
static const char *const keep[] = {
	"Back-off pulling image \"nginx:1.27-typo\"",
	"pod demo/web-7d9f8c7b6-abcde: container nginx: ImagePullBackOff",
	"image busybox@sha256:4b4d1a8cfba5d0e6f8a7b0c3e2d1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3",
	"uid 3f1c2a9e-8b7d-4c6e-9a1f-2b3c4d5e6f70 restarted 4 times",
	"Readiness probe failed: HTTP probe failed with statuscode: 503",
	"0/3 nodes are available: 3 Insufficient memory.",
};

static void
test_schema_file(void)
{
	char	 path[1024];
	json_t	*f;
	const char *src = getenv("REMEDY_SRCDIR");

	snprintf(path, sizeof(path), "%s/proto/diagnosis.schema.json",
	    src ? src : ".");
	f = json_load_file(path, 0, NULL);
	CHECK(f != NULL);
	CHECK(diagnosis_schema() != NULL);
	/* The compiled-in copy is the file. */
	CHECK(f != NULL && json_equal(f, diagnosis_schema()));
	json_decref(f);
}

static json_t *
good_reply(void)
{
	return json_pack("{s:s, s:s, s:s, s:f, s:[s], s:[{s:{s:s, s:s, s:s},"
	    " s:s, s:[{s:s, s:s, s:s}], s:s, s:s}]}",
	    "root_cause", "bad image", "category", "image",
	    "explanation", "the tag does not exist", "confidence", 0.9,
	    "evidence", "ImagePullBackOff",
	    "actions", "target", "kind", "Deployment", "namespace", "demo",
	    "name", "web", "patch_type", "json-patch",
	    "patch", "op", "replace", "path",
	    "/spec/template/spec/containers/0/image", "value", "nginx:1.25",
	    "risk", "low", "summary", "roll back");
}

static int
invalid(json_t *doc, const char *want)
{
	char	err[512];
	int	rc = reply_validate(doc, err, sizeof(err));

	if (rc == 0 || strstr(err, want) == NULL)
		fprintf(stderr, "validation: \"%s\" lacks \"%s\"\n", err, want);
	json_decref(doc);
	return rc == -1 && strstr(err, want) != NULL;
}

static void
test_validator(void)
{
	json_t	*d, *big;
	char	 err[512], longs[700];
	int	 i;

	d = good_reply();
	CHECK(reply_validate(d, err, sizeof(err)) == 0);
	json_decref(d);

	d = good_reply();
	json_object_del(d, "explanation");
	CHECK(invalid(d, "/: required property \"explanation\" is missing"));
	d = good_reply();
	json_object_set_new(d, "extra", json_true());
	CHECK(invalid(d, "property \"extra\" is not allowed"));
	d = good_reply();
	json_object_set_new(d, "confidence", json_integer(7));
	CHECK(invalid(d, "/confidence: 7 is greater than the maximum 1"));
	d = good_reply();
	json_object_set_new(d, "confidence", json_real(-0.5));
	CHECK(invalid(d, "less than the minimum 0"));
	d = good_reply();
	json_object_set_new(d, "category", json_string("magic"));
	CHECK(invalid(d, "/category: \"magic\" is not one of image"));
	d = good_reply();
	json_object_set_new(d, "evidence", json_string("one"));
	CHECK(invalid(d, "/evidence: expected array, got string"));
	d = good_reply();
	json_object_set_new(json_object_get(json_array_get(json_object_get(d,
	    "actions"), 0), "target"), "kind", json_string("Secret"));
	CHECK(invalid(d, "/actions/0/target/kind: \"Secret\" is not one of "
	    "Deployment, StatefulSet, DaemonSet, CronJob, Pod"));
	d = good_reply();
	json_object_set_new(json_object_get(json_array_get(json_object_get(d,
	    "actions"), 0), "target"), "kind", json_string(
	    "ClusterRoleBinding"));
	CHECK(invalid(d, "is not one of Deployment"));
	d = good_reply();
	json_object_set_new(json_array_get(json_object_get(d, "actions"), 0),
	    "patch", json_string("x"));
	CHECK(invalid(d, "/actions/0/patch: expected array or object, got "
	    "string"));
	d = good_reply();
	big = json_array();
	for (i = 0; i < 500; i++)
		json_array_append_new(big, json_pack("{s:s, s:s, s:i}", "op",
		    "replace", "path", "/spec/replicas", "value", i));
	json_object_set_new(json_array_get(json_object_get(d, "actions"), 0),
	    "patch", big);
	CHECK(invalid(d, "500 items, more than the maximum 32"));
	d = good_reply();
	json_array_append_new(json_object_get(json_array_get(json_object_get(d,
	    "actions"), 0), "patch"), json_pack("{s:s, s:s}", "op", "move",
	    "path", "/a"));
	CHECK(invalid(d, "/actions/0/patch/1/op: \"move\" is not one of"));
	d = good_reply();
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	json_object_set_new(d, "root_cause", json_string(longs));
	CHECK(invalid(d, "string of 699 characters, longer than the maximum "
	    "600"));
	d = good_reply();
	big = json_pack("[o,o,o]",
	    json_deep_copy(json_array_get(json_object_get(d, "actions"), 0)),
	    json_deep_copy(json_array_get(json_object_get(d, "actions"), 0)),
	    json_deep_copy(json_array_get(json_object_get(d, "actions"), 0)));
	json_array_extend(json_object_get(d, "actions"), big);
	json_decref(big);
	CHECK(invalid(d, "/actions: 4 items, more than the maximum 3"));
	/* A merge patch is an object; items does not apply to it. */
	d = good_reply();
	json_object_set_new(json_array_get(json_object_get(d, "actions"), 0),
	    "patch", json_pack("{s:{s:i}}", "spec", "replicas", 3));
	CHECK(reply_validate(d, err, sizeof(err)) == 0);
	json_decref(d);
	/* "~" and "/" in keys are escaped in the pointer. */
	d = json_pack("{s:{s:i}}", "a/b~c", "x", 1);
	big = json_pack("{s:{s:{s:{s:{s:s}}}}}", "properties", "a/b~c",
	    "properties", "x", "type", "string");
	CHECK(jschema_validate(big, d, err, sizeof(err)) == -1);
	CHECK_STR(err, "/a~1b~0c/x: expected string, got integer");
	json_decref(d);
	json_decref(big);
}

static void
test_parse(void)
{
	char	 err[512];
	json_t	*d;

	d = reply_parse("```json\n{\"a\": 1}\n```\n", err, sizeof(err));
	CHECK(d != NULL && json_integer_value(json_object_get(d, "a")) == 1);
	json_decref(d);
	d = reply_parse("Here it is: {\"a\": {\"b\": 2}} hope that helps",
	    err, sizeof(err));
	CHECK(d != NULL);
	json_decref(d);
	CHECK(reply_parse("", err, sizeof(err)) == NULL);
	CHECK_STR(err, "the reply is empty");
	CHECK(reply_parse("no json here", err, sizeof(err)) == NULL);
	CHECK_STR(err, "the reply holds no JSON object");
	CHECK(reply_parse("{\"a\": ", err, sizeof(err)) == NULL);
	CHECK(strncmp(err, "the reply is not valid JSON:", 28) == 0);
	CHECK(reply_parse("{\"a\":1,\"a\":2}", err, sizeof(err)) == NULL);
}

static void
test_redact(void)
{
	struct redactor	 r;
	char		*out;
	size_t		 i, j;

	redact_init(&r, 0, 0, NULL);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		out = redact_text(&r, texts[i]);
		CHECK(out != NULL);
		if (out == NULL)
			continue;
		CHECK(strstr(out, "[redacted:") != NULL);
		for (j = 0; j < sizeof(corpus) / sizeof(corpus[0]); j++)
			if (strstr(out, corpus[j]) != NULL) {
				fprintf(stderr, "leak: %s in %s\n", corpus[j],
				    out);
				CHECK(0);
			}
		free(out);
	}
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		out = redact_text(&r, keep[i]);
		CHECK_STR(out, keep[i]);
		free(out);
	}
	out = redact_text(&r, "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n"
	    "-----END RSA PRIVATE KEY-----\nafter");
	CHECK_STR(out, "[redacted:private-key]\nafter");
	free(out);
	out = redact_text(&r, "dial tcp 10.96.0.10:53: i/o timeout");
	CHECK_STR(out, "dial tcp 10.96.0.10:53: i/o timeout");
	free(out);
	redact_clear(&r);
	redact_init(&r, 1, 0, NULL);
	out = redact_text(&r, "dial tcp 10.96.0.10:53: i/o timeout");
	CHECK_STR(out, "dial tcp [redacted:ip]:53: i/o timeout");
	free(out);
	redact_clear(&r);
}

static void
test_anonymize(void)
{
	struct redactor	 a, b;
	unsigned char	 key[REDACT_KEY_LEN];
	const char	*pa, *pb;
	char		*ta, *tb, *back;
	json_t		*j;

	memset(key, 7, sizeof(key));
	redact_init(&a, 0, 1, key);
	redact_init(&b, 0, 1, key);
	pa = redact_alias(&a, "ns", "team-a");
	pb = redact_alias(&b, "ns", "team-b");
	CHECK(pa != NULL && pb != NULL && strcmp(pa, pb) == 0);
	CHECK(pa != NULL && strncmp(pa, "ns-", 3) == 0 && strlen(pa) == 11);
	redact_alias(&a, "workload", "web");
	redact_alias(&b, "workload", "web");
	redact_alias(&a, "pod", "web-5d9f-aaaaa");
	redact_alias(&b, "pod", "web-5d9f-bbbbb");
	ta = redact_text(&a, "pod team-a/web-5d9f-aaaaa of web (webhook "
	    "untouched) in team-a, rs web-5d9f");
	tb = redact_text(&b, "pod team-b/web-5d9f-bbbbb of web (webhook "
	    "untouched) in team-b, rs web-5d9f");
	CHECK_STR(ta, tb);
	CHECK(ta != NULL && strstr(ta, "team-a") == NULL &&
	    strstr(ta, "aaaaa") == NULL && strstr(ta, "webhook") != NULL);
	back = redact_unalias_text(&b, tb);
	CHECK_STR(back, "pod team-b/web-5d9f-bbbbb of web (webhook untouched) "
	    "in team-b, rs web-5d9f");
	j = json_pack("{s:{s:s, s:s}}", "target", "namespace", pb, "name",
	    redact_alias(&b, "workload", "web"));
	CHECK(redact_unalias_json(&b, j) == 0);
	CHECK_STR(json_str_at(j, "target.namespace"), "team-b");
	CHECK_STR(json_str_at(j, "target.name"), "web");
	json_decref(j);
	free(ta);
	free(tb);
	free(back);
	redact_clear(&a);
	redact_clear(&b);
	/* Another key, other pseudonyms. */
	memset(key, 8, sizeof(key));
	redact_init(&a, 0, 1, key);
	CHECK(strcmp(redact_alias(&a, "ns", "team-a"), "ns-00000000") != 0);
	redact_clear(&a);
}

static void
test_llm_wire(void)
{
	struct llm_config	 c;
	struct curl_slist	*h, *it;
	json_t			*msgs, *body;
	char			 url[1024], *b;
	int			 auth = 0;

	msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", "ctx");
	memset(&c, 0, sizeof(c));
	c.kind = LLM_OPENAI;
	c.model = "gpt-test";
	c.endpoint = "https://api.example/v1/";
	c.api_key = "sk-SECRET-KEY";
	c.max_tokens = 512;
	CHECK(llm_request(&c, LLM_JSON_SCHEMA, "sys", msgs,
	    diagnosis_schema(), url, sizeof(url), &b, &h) == 0);
	CHECK_STR(url, "https://api.example/v1/chat/completions");
	body = json_loads(b, 0, NULL);
	CHECK_STR(json_str_at(body, "response_format.type"), "json_schema");
	CHECK(json_equal(json_at(body, "response_format.json_schema.schema"),
	    diagnosis_schema()));
	CHECK_STR(json_str_at(json_array_get(json_object_get(body,
	    "messages"), 0), "content"), "sys");
	CHECK(strstr(b, "SECRET") == NULL);
	for (it = h; it; it = it->next)
		if (strcmp(it->data, "Authorization: Bearer sk-SECRET-KEY") ==
		    0)
			auth = 1;
	CHECK(auth);
	json_decref(body);
	free(b);
	curl_slist_free_all(h);
	/* json_object: the schema goes into the system text. */
	CHECK(llm_request(&c, LLM_JSON_OBJECT, "sys", msgs,
	    diagnosis_schema(), url, sizeof(url), &b, &h) == 0);
	body = json_loads(b, 0, NULL);
	CHECK_STR(json_str_at(body, "response_format.type"), "json_object");
	CHECK(strstr(json_str_at(json_array_get(json_object_get(body,
	    "messages"), 0), "content"), "root_cause") != NULL);
	json_decref(body);
	free(b);
	curl_slist_free_all(h);
	/* Azure. */
	c.azure_deployment = "dep1";
	c.api_version = "2024-10-21";
	c.endpoint = "https://x.openai.azure.com";
	CHECK(llm_request(&c, LLM_JSON_SCHEMA, "sys", msgs, NULL, url,
	    sizeof(url), &b, &h) == 0);
	CHECK_STR(url, "https://x.openai.azure.com/openai/deployments/dep1/"
	    "chat/completions?api-version=2024-10-21");
	for (auth = 0, it = h; it; it = it->next)
		if (strcmp(it->data, "api-key: sk-SECRET-KEY") == 0)
			auth = 1;
	CHECK(auth);
	free(b);
	curl_slist_free_all(h);
	/* Anthropic. */
	memset(&c, 0, sizeof(c));
	c.kind = LLM_ANTHROPIC;
	c.model = "claude-test";
	c.endpoint = "https://api.anthropic.com";
	c.api_key = "k1";
	c.max_tokens = 256;
	CHECK(llm_request(&c, LLM_PROMPTED, "sys", msgs, diagnosis_schema(),
	    url, sizeof(url), &b, &h) == 0);
	CHECK_STR(url, "https://api.anthropic.com/v1/messages");
	body = json_loads(b, 0, NULL);
	CHECK(strncmp(json_str_at(body, "system"), "sys\n", 4) == 0);
	CHECK(json_integer_value(json_object_get(body, "max_tokens")) == 256);
	for (auth = 0, it = h; it; it = it->next)
		auth += strcmp(it->data, "x-api-key: k1") == 0 ||
		    strcmp(it->data, "anthropic-version: 2023-06-01") == 0;
	CHECK_INT(auth, 2);
	json_decref(body);
	free(b);
	curl_slist_free_all(h);
	/* Ollama. */
	memset(&c, 0, sizeof(c));
	c.kind = LLM_OLLAMA;
	c.model = "llama3.1";
	c.endpoint = "http://127.0.0.1:11434";
	c.max_tokens = 256;
	CHECK(llm_request(&c, LLM_JSON_SCHEMA, "sys", msgs, diagnosis_schema(),
	    url, sizeof(url), &b, &h) == 0);
	CHECK_STR(url, "http://127.0.0.1:11434/api/chat");
	body = json_loads(b, 0, NULL);
	CHECK(json_is_false(json_object_get(body, "stream")));
	CHECK(json_equal(json_object_get(body, "format"), diagnosis_schema()));
	json_decref(body);
	free(b);
	curl_slist_free_all(h);
	json_decref(msgs);
}

static void
test_llm_answers(void)
{
	struct llm_result	r;
	const char		*oa = "{\"choices\":[{\"message\":{\"content\":"
	    "\"{}\"},\"finish_reason\":\"length\"}],\"usage\":{"
	    "\"prompt_tokens\":100,\"completion_tokens\":20}}";
	const char		*an = "{\"content\":[{\"type\":\"text\","
	    "\"text\":\"hi\"}],\"stop_reason\":\"end_turn\",\"usage\":{"
	    "\"input_tokens\":7,\"output_tokens\":3}}";
	const char		*ol = "{\"message\":{\"content\":\"x\"},"
	    "\"done\":true,\"prompt_eval_count\":5,\"eval_count\":2}";

	memset(&r, 0, sizeof(r));
	CHECK(llm_response(LLM_OPENAI, oa, strlen(oa), &r) == 0);
	CHECK_STR(r.text, "{}");
	CHECK(r.truncated && r.prompt_tokens == 100 &&
	    r.completion_tokens == 20);
	free(r.text);
	memset(&r, 0, sizeof(r));
	CHECK(llm_response(LLM_ANTHROPIC, an, strlen(an), &r) == 0);
	CHECK_STR(r.text, "hi");
	CHECK(!r.truncated && r.prompt_tokens == 7 && r.completion_tokens == 3);
	free(r.text);
	memset(&r, 0, sizeof(r));
	CHECK(llm_response(LLM_OLLAMA, ol, strlen(ol), &r) == 0);
	CHECK(r.prompt_tokens == 5 && r.completion_tokens == 2);
	free(r.text);
	memset(&r, 0, sizeof(r));
	CHECK(llm_response(LLM_OPENAI, "{\"choices\":[]}", 14, &r) == -1);
	CHECK_STR(r.err, "the openai answer holds no reply text");
	memset(&r, 0, sizeof(r));
	CHECK(llm_response(LLM_OLLAMA, "{\"mess", 6, &r) == -1);
	CHECK(strncmp(r.err, "the ollama answer is not JSON", 29) == 0);

	CHECK_INT(llm_retry_after("3", 0), 3000);
	CHECK_INT(llm_retry_after(" 0\r\n", 0), 0);
	CHECK_INT(llm_retry_after("100000", 0), LLM_MAX_RETRY_AFTER_MS);
	CHECK_INT(llm_retry_after("soon", 0), -1);
	CHECK_INT(llm_retry_after("-4", 0), -1);
	/* Thu, 01 Jan 1970 00:00:10 GMT is 10 s after the epoch. */
	CHECK_INT(llm_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", 4000), 6000);
	CHECK_INT(llm_kind_parse("anthropic"), LLM_ANTHROPIC);
	CHECK_INT(llm_kind_parse("rules"), -1);
}

static void
test_cost(void)
{
	struct cost			 c;
	const struct cost_entry		*e;
	char				 k1[65], k2[65], k[65];
	char				 why[256];
	int				 i;

	cost_key(k1, "openai", "m", "v1", "ctx");
	cost_key(k2, "openai", "m", "v1", "ctx");
	CHECK_STR(k1, k2);
	cost_key(k2, "openai", "m2", "v1", "ctx");
	CHECK(strcmp(k1, k2) != 0);
	cost_key(k2, "openaim", "", "v1", "ctx");
	CHECK(strcmp(k1, k2) != 0);
	cost_key(k2, "openai", "m", "v2", "ctx");
	CHECK(strcmp(k1, k2) != 0);

	cost_init(&c, 1000, 2, 500);
	CHECK(cost_get(&c, k1, 0) == NULL);
	CHECK(cost_put(&c, k1, "reply", 10, 5, 0) == 0);
	e = cost_get(&c, k1, 500);
	CHECK(e != NULL && strcmp(e->text, "reply") == 0 &&
	    e->prompt_tokens == 10);
	CHECK(cost_get(&c, k1, 1500) == NULL);	/* past the ttl */
	CHECK_INT(c.hits, 1);
	CHECK_INT(c.misses, 2);
	/* Bounded: the oldest goes. */
	for (i = 0; i < COST_CACHE_MAX + 1; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		CHECK(cost_put(&c, k, "r", 1, 1, 0) == 0);
	}
	CHECK(cost_get(&c, "key0", 0) == NULL);
	CHECK(cost_get(&c, "key1", 0) != NULL);
	CHECK(cost_get(&c, "key512", 0) != NULL);
	CHECK_INT(c.cache.len, COST_CACHE_MAX);

	/* Budgets: 2 calls an hour, 500 tokens a day. */
	CHECK(cost_admit(&c, 0, why, sizeof(why)) == 0);
	cost_count_call(&c, 0);
	cost_count_call(&c, 60 * 1000);
	CHECK(cost_admit(&c, 120 * 1000, why, sizeof(why)) == -1);
	CHECK(strstr(why, "call budget exhausted") != NULL);
	CHECK(cost_admit(&c, 3600 * 1000 + 61 * 1000, why, sizeof(why)) == 0);
	cost_count_tokens(&c, 3600 * 1000 * 2, 600);
	CHECK(cost_admit(&c, 3600 * 1000 * 3, why, sizeof(why)) == -1);
	CHECK(strstr(why, "token budget exhausted") != NULL);
	CHECK(cost_admit(&c, 3600 * 1000 * 27, why, sizeof(why)) == 0);
	cost_clear(&c);
}

/* An incident of ns/web with one pod, as the engine builds it. */
static void
make_incident(struct incidents *incs, const char *reason, const char *img,
    struct incident **out)
{
	struct finding		f;
	struct root_owner	r = { "Deployment", "demo", "web", "uid-web" };
	size_t			pos = 0;

	memset(&f, 0, sizeof(f));
	f.analyzer = "test";
	snprintf(f.reason, sizeof(f.reason), "%s", reason);
	snprintf(f.container, sizeof(f.container), "app");
	snprintf(f.image, sizeof(f.image), "%s", img);
	snprintf(f.detail, sizeof(f.detail), "pod demo/web-5d9f-abcde: "
	    "container app: %s", reason);
	incidents_init(incs);
	incidents_pod(incs, "demo", "web-5d9f-abcde", &f, &r, 0);
	*out = NULL;
	incidents_next(incs, &pos, out);
}

static json_t *
deployment_json(const char *image, const char *mem, int64_t rev)
{
	json_t *d;
	char	revs[16];

	snprintf(revs, sizeof(revs), "%lld", (long long)rev);
	d = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:I, s:{s:s}},"
	    " s:{s:i, s:{s:{s:[{s:s, s:s, s:[{s:s, s:s}]}]}}},"
	    " s:{s:I}}",
	    "kind", "Deployment", "apiVersion", "apps/v1",
	    "metadata", "name", "web", "namespace", "demo", "uid", "uid-web",
	    "resourceVersion", "9", "generation", (json_int_t)3,
	    "annotations", "deployment.kubernetes.io/revision", revs,
	    "spec", "replicas", 2, "template", "spec", "containers", "name",
	    "app", "image", image, "env", "name", "DB_PASSWORD", "value",
	    "Sup3rS3cretPassw0rd!env",
	    "status", "observedGeneration", (json_int_t)3);
	if (mem != NULL)
		json_object_set_new(json_array_get(json_at(d,
		    "spec.template.spec.containers"), 0), "resources",
		    json_pack("{s:{s:s}}", "limits", "memory", mem));
	return d;
}

static json_t *
oom_pod(void)
{
	return json_pack("{s:{s:s, s:s}, s:{s:s}, s:{s:[{s:s, s:i, s:{s:{s:s,"
	    " s:i}}, s:{s:{}}}]}}",
	    "metadata", "name", "web-5d9f-abcde", "namespace", "demo",
	    "spec", "nodeName", "node-a",
	    "status", "containerStatuses", "name", "app", "restartCount", 3,
	    "lastState", "terminated", "reason", "OOMKilled", "exitCode", 137,
	    "state", "running");
}

static void
test_rules(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct diag_input	 in;
	struct proposal		 p;
	json_t			*owner, *pod, *o;
	struct kdeployment	*dep;
	struct kreplicaset	*rs[2];
	const struct kreplicaset *rsp[2];
	json_t			*rsj;

	/* OOMKilled: 256Mi * 1.5 = 384Mi, guarded by tests. */
	make_incident(&incs, "OOMKilled", "app:1", &inc);
	owner = deployment_json("app:1", "256Mi", 1);
	pod = oom_pod();
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.owner = owner;
	in.pod = pod;
	in.mem_factor = 1.5;
	in.mem_ceiling = 1LL << 30;
	CHECK(rules_diagnose(&in, &p) == 0);
	o = json_pack("[{s:s,s:s,s:I},{s:s,s:s,s:s},{s:s,s:s,s:s}]",
	    "op", "test", "path", "/metadata/generation", "value",
	    (json_int_t)3, "op", "test", "path",
	    "/spec/template/spec/containers/0/resources/limits/memory",
	    "value", "256Mi", "op", "replace", "path",
	    "/spec/template/spec/containers/0/resources/limits/memory",
	    "value", "384Mi");
	CHECK(p.patch != NULL && json_equal(p.patch, o));
	json_decref(o);
	CHECK_STR(p.risk, "medium");
	CHECK(strstr(p.summary, "256Mi -> 384Mi") != NULL);
	CHECK_STR(p.api_path, "/apis/apps/v1/namespaces/demo/deployments/web");
	proposal_clear(&p);
	/* Capped at the ceiling. */
	in.mem_ceiling = 300LL << 20;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch != NULL && strcmp(json_str_at(json_array_get(p.patch,
	    2), "value"), "300Mi") == 0);
	proposal_clear(&p);
	/* At the ceiling: an explanation. */
	in.mem_ceiling = 256LL << 20;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "at the ceiling") != NULL);
	proposal_clear(&p);
	/* No limit: an explanation. */
	json_decref(owner);
	owner = deployment_json("app:1", NULL, 1);
	in.owner = owner;
	in.mem_ceiling = 1LL << 30;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "no memory limit") != NULL);
	proposal_clear(&p);
	json_decref(owner);
	json_decref(pod);
	incidents_clear(&incs);

	/* CrashLoopBackOff after a rollout: roll back to revision 1. */
	make_incident(&incs, "CrashLoopBackOff", "app:2", &inc);
	owner = deployment_json("app:2", NULL, 2);
	dep = kobj_deployment_project(owner);
	rsj = json_pack("{s:{s:s, s:s, s:s, s:s, s:I, s:{s:s}, s:[{s:s, s:s,"
	    " s:s, s:b}]}, s:{s:i, s:{s:{s:[{s:s, s:s}]}}}}",
	    "metadata", "name", "web-1", "namespace", "demo", "uid", "rs1",
	    "resourceVersion", "1", "generation", (json_int_t)1,
	    "annotations", "deployment.kubernetes.io/revision", "1",
	    "ownerReferences", "kind", "Deployment", "name", "web", "uid",
	    "uid-web", "controller", 1,
	    "spec", "replicas", 0, "template", "spec", "containers", "name",
	    "app", "image", "app:1");
	rs[0] = kobj_replicaset_project(rsj);
	json_decref(rsj);
	rsj = json_pack("{s:{s:s, s:s, s:s, s:s, s:I, s:{s:s}, s:[{s:s, s:s,"
	    " s:s, s:b}]}, s:{s:i, s:{s:{s:[{s:s, s:s}]}}}}",
	    "metadata", "name", "web-2", "namespace", "demo", "uid", "rs2",
	    "resourceVersion", "2", "generation", (json_int_t)1,
	    "annotations", "deployment.kubernetes.io/revision", "2",
	    "ownerReferences", "kind", "Deployment", "name", "web", "uid",
	    "uid-web", "controller", 1,
	    "spec", "replicas", 2, "template", "spec", "containers", "name",
	    "app", "image", "app:2");
	rs[1] = kobj_replicaset_project(rsj);
	json_decref(rsj);
	CHECK(dep != NULL && rs[0] != NULL && rs[1] != NULL);
	rsp[0] = rs[0];
	rsp[1] = rs[1];
	memset(&in, 0, sizeof(in));
	in.inc = inc;
	in.dep = dep;
	in.rs = rsp;
	in.nrs = 2;
	in.owner = owner;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch != NULL && strcmp(json_str_at(json_array_get(p.patch,
	    2), "value"), "app:1") == 0);
	CHECK(strstr(p.summary, "Roll back Deployment demo/web to revision 1")
	    != NULL);
	CHECK(strstr(p.root_cause, "keep crashing") != NULL);
	CHECK(strstr(p.root_cause, "Its log says") == NULL);
	proposal_clear(&p);
	/* With the previous container's log: the line that tells why, the
	 * last one naming a fatal condition, is quoted (control bytes
	 * replaced) in the root cause and the evidence. */
	in.logs = "starting\nFATAL: config: required key DATABASE_URL is not "
	    "set\x1b\r\nbye\n\n";
	in.log_container = "app";
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(strstr(p.root_cause, "Its log says: \"FATAL: config: required "
	    "key DATABASE_URL is not set?\".") != NULL);
	CHECK(strcmp(json_string_value(json_array_get(p.evidence,
	    json_array_size(p.evidence) - 1)), "log of container app: FATAL: "
	    "config: required key DATABASE_URL is not set?") == 0);
	proposal_clear(&p);
	/* No telling line: the last non-empty one. */
	in.logs = "listening on :80\nshutting down\n";
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(strstr(p.root_cause, "Its log says: \"shutting down\".") != NULL);
	proposal_clear(&p);
	in.logs = "\n\n";
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(strstr(p.root_cause, "Its log says") == NULL);
	proposal_clear(&p);
	in.logs = NULL;
	in.log_container = NULL;
	/* The Deployment is not (or no longer) in the cache: said so. */
	in.dep = NULL;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "Deployment demo/web is "
	    "not in remedyd's cache") != NULL);
	proposal_clear(&p);
	in.dep = dep;
	incidents_clear(&incs);
	/* Something the rules do not fix: explained, no patch. */
	make_incident(&incs, "Unschedulable", "app:2", &inc);
	in.inc = inc;
	CHECK(rules_diagnose(&in, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "No automatic fix") !=
	    NULL && p.root_cause != NULL);
	proposal_clear(&p);
	incidents_clear(&incs);
	kobj_deployment_free(dep);
	kobj_replicaset_free(rs[0]);
	kobj_replicaset_free(rs[1]);
	json_decref(owner);
}

static void
test_actions(void)
{
	struct policy		 pol;
	struct reply_target	 t = { "Deployment", "demo", "web",
	    "/apis/apps/v1/namespaces/demo/deployments/web" };
	struct proposal		 p;
	json_t			*obs, *d, *a;
	char			 err[700];

	policy_init_defaults(&pol);
	obs = deployment_json("nginx:1.27-typo", "256Mi", 2);
	d = good_reply();
	CHECK(reply_action(d, 0, &t, obs, &pol, &p, err, sizeof(err)) == 0);
	CHECK(p.patch != NULL);
	CHECK(json_equal(json_array_get(p.patch, 0), a = json_pack(
	    "{s:s,s:s,s:I}", "op", "test", "path", "/metadata/generation",
	    "value", (json_int_t)3)));
	json_decref(a);
	CHECK(json_is_array(p.inverse));
	CHECK_STR(p.risk, "low");
	proposal_clear(&p);
	/* Another namespace: refused, whatever the patch. */
	json_object_set_new(json_at(json_array_get(json_object_get(d,
	    "actions"), 0), "target"), "namespace", json_string("prod"));
	CHECK(reply_action(d, 0, &t, obs, &pol, &p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "refused by policy") != NULL);
	CHECK(p.patch == NULL);
	json_decref(d);
	/* A merge patch becomes a JSON Patch with tests. */
	d = good_reply();
	a = json_array_get(json_object_get(d, "actions"), 0);
	json_object_set_new(a, "patch_type", json_string("merge-patch"));
	json_object_set_new(a, "patch", json_pack("{s:{s:i}}", "spec",
	    "replicas", 3));
	CHECK(reply_action(d, 0, &t, obs, &pol, &p, err, sizeof(err)) == 0);
	a = json_pack("[{s:s,s:s,s:I},{s:s,s:s,s:i},{s:s,s:s,s:i}]",
	    "op", "test", "path", "/metadata/generation", "value",
	    (json_int_t)3, "op", "test", "path", "/spec/replicas", "value", 2,
	    "op", "replace", "path", "/spec/replicas", "value", 3);
	CHECK(p.patch != NULL && json_equal(p.patch, a));
	json_decref(a);
	proposal_clear(&p);
	/* patch_type and patch disagree. */
	json_object_set_new(json_array_get(json_object_get(d, "actions"), 0),
	    "patch_type", json_string("json-patch"));
	CHECK(reply_action(d, 0, &t, obs, &pol, &p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "does not match") != NULL);
	json_decref(d);
	/* A path outside the allowlist. */
	d = good_reply();
	json_object_set_new(json_array_get(json_object_get(json_array_get(
	    json_object_get(d, "actions"), 0), "patch"), 0), "path",
	    json_string("/spec/template/spec/serviceAccountName"));
	json_object_set_new(json_array_get(json_object_get(json_array_get(
	    json_object_get(d, "actions"), 0), "patch"), 0), "op",
	    json_string("add"));
	CHECK(reply_action(d, 0, &t, obs, &pol, &p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "path-not-allowed") != NULL);
	json_decref(d);
	/* The whole object removed. */
	d = good_reply();
	json_object_set_new(json_array_get(json_object_get(d, "actions"), 0),
	    "patch", json_pack("[{s:s,s:s}]", "op", "remove", "path", ""));
	CHECK(reply_action(d, 0, &t, obs, &pol, &p, err, sizeof(err)) == -1);
	json_decref(d);
	/* A stale proposal (its test fails against what was observed). */
	d = good_reply();
	json_array_insert_new(json_object_get(json_array_get(json_object_get(d,
	    "actions"), 0), "patch"), 0, json_pack("{s:s,s:s,s:s}", "op",
	    "test", "path", "/spec/template/spec/containers/0/image", "value",
	    "other"));
	CHECK(reply_action(d, 0, &t, obs, &pol, &p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "does not apply") != NULL);
	json_decref(d);
	/* No action: an explanation. */
	d = good_reply();
	json_object_set_new(d, "actions", json_array());
	CHECK(reply_explain(d, &t, &p) == 0);
	CHECK(p.patch == NULL && strstr(p.summary, "bad image") != NULL &&
	    strstr(p.root_cause, "the tag does not exist") != NULL);
	proposal_clear(&p);
	json_decref(d);
	json_decref(obs);
	policy_clear(&pol);
}

static void
test_context(void)
{
	struct incidents	 incs;
	struct incident		*inc;
	struct context_input	 ci;
	struct redactor		 r;
	json_t			*owner, *pod, *ctx;
	char			*s, logs[64 * 1024];
	int			 truncated, i;

	make_incident(&incs, "CrashLoopBackOff", "app:1", &inc);
	owner = deployment_json("app:1", "256Mi", 1);
	json_array_append_new(json_object_get(json_array_get(json_at(owner,
	    "spec.template.spec.containers"), 0), "env"), json_pack("{s:s, "
	    "s:{s:{s:s, s:s}}}", "name", "API_TOKEN", "valueFrom",
	    "secretKeyRef", "name", "payments-db-credentials", "key", "t"));
	pod = oom_pod();
	logs[0] = '\0';
	for (i = 0; i < 400; i++)
		snprintf(logs + strlen(logs), sizeof(logs) - strlen(logs),
		    "line %d token=abcdefgh%d\n", i, i);
	memset(&ci, 0, sizeof(ci));
	ci.inc = inc;
	ci.owner = owner;
	ci.pod = pod;
	ci.logs = logs;
	ci.log_container = "app";
	ci.log_previous = 1;
	ci.log_lines = 30;
	redact_init(&r, 0, 0, NULL);
	ctx = context_build(&ci, &r, 100000, &truncated);
	CHECK(ctx != NULL && !truncated);
	CHECK_INT(json_array_size(json_at(ctx, "logs.lines")), 30);
	CHECK_STR(json_string_value(json_array_get(json_at(ctx, "logs.lines"),
	    29)), "line 399 token=[redacted:secret]");
	s = json_dumps(ctx, JSON_COMPACT);
	CHECK(s != NULL && strstr(s, "Sup3rS3cret") == NULL &&
	    strstr(s, "payments-db-credentials") == NULL &&
	    strstr(s, "API_TOKEN (from secret)") != NULL &&
	    strstr(s, "OOMKilled") != NULL);
	free(s);
	json_decref(ctx);
	/* A tight budget: log lines go first, and it fits. */
	ctx = context_build(&ci, &r, 1500, &truncated);
	s = json_dumps(ctx, JSON_COMPACT);
	CHECK(truncated && s != NULL && strlen(s) <= 1500);
	CHECK(json_array_size(json_at(ctx, "logs.lines")) < 30);
	free(s);
	json_decref(ctx);
	redact_clear(&r);
	json_decref(owner);
	json_decref(pod);
	incidents_clear(&incs);
}

static int
load(const char *yaml, struct remedy_config *cfg, char **errs)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/c.yaml", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(yaml, f);
	fclose(f);
	config_init(cfg);
	return config_load(path, cfg, errs);
}

static void
test_config_keys(void)
{
	struct remedy_config	 cfg;
	char			*errs, *key, err[256], path[256];
	FILE			*f;

	CHECK_INT(load("diagnosis:\n  backend: ollama\n  model: llama3.1\n"
	    "  endpoint: http://127.0.0.1:11434\n  timeout: 90s\n"
	    "  max_retries: 5\n  max_tokens: 2048\n  max_concurrent: 3\n"
	    "  max_calls_per_hour: 10\n  max_tokens_per_day: 50000\n"
	    "  cache_ttl: 1h\n  anonymize: true\n  redact_ips: yes\n"
	    "  context_bytes: 8000\n  log_lines: 50\n"
	    "  memory_raise_factor: 2\n  memory_ceiling: 8Gi\n"
	    "  structured_output: prompt\n", &cfg, &errs), 0);
	CHECK(errs == NULL);
	CHECK_STR(cfg.backend, "ollama");
	CHECK_STR(cfg.diag.model, "llama3.1");
	CHECK_INT(cfg.diag.timeout_ms, 90000);
	CHECK_INT(cfg.diag.max_retries, 5);
	CHECK_INT(cfg.diag.max_tokens, 2048);
	CHECK_INT(cfg.diag.max_concurrent, 3);
	CHECK_INT(cfg.diag.max_calls_per_hour, 10);
	CHECK_INT(cfg.diag.max_tokens_per_day, 50000);
	CHECK_INT(cfg.diag.cache_ttl_ms, 3600000);
	CHECK(cfg.diag.anonymize && cfg.diag.redact_ips);
	CHECK_INT(cfg.diag.context_bytes, 8000);
	CHECK_INT(cfg.diag.log_lines, 50);
	CHECK(cfg.diag.memory_raise_factor == 2.0);
	CHECK_INT(cfg.diag.memory_ceiling, 8LL << 30);
	CHECK_INT(cfg.diag.structured, LLM_PROMPTED);
	free(errs);
	config_clear(&cfg);

	CHECK_INT(load("diagnosis:\n  backend: openai\n  timeout: soon\n"
	    "  memory_raise_factor: 9\n  memory_ceiling: lots\n"
	    "  structured_output: xml\n  endpoint: ftp://x\n"
	    "  max_retries: 99\n  anonymize: maybe\n", &cfg, &errs), 8);
	CHECK(errs != NULL && strstr(errs, "c.yaml:3:12: diagnosis.timeout: "
	    "\"soon\" is not a duration") != NULL);
	CHECK(errs != NULL && strstr(errs, "diagnosis.memory_raise_factor: "
	    "\"9\" is not a number from 1.1 to 4") != NULL);
	CHECK(errs != NULL && strstr(errs, "diagnosis.memory_ceiling: \"lots\" "
	    "is not a memory quantity") != NULL);
	CHECK(errs != NULL && strstr(errs, "unknown mode \"xml\"") != NULL);
	CHECK(errs != NULL && strstr(errs, "\"ftp://x\" is not an http:// or "
	    "https:// URL") != NULL);
	CHECK(errs != NULL && strstr(errs, "diagnosis.max_retries: \"99\" is "
	    "not a whole number from 0 to 10") != NULL);
	CHECK(errs != NULL && strstr(errs, "diagnosis.anonymize: expected "
	    "true or false") != NULL);
	CHECK(errs != NULL && strstr(errs, "diagnosis.model: required with "
	    "backend openai") != NULL);
	free(errs);
	config_clear(&cfg);

	CHECK_INT(kquantity("512Mi"), 512LL << 20);
	CHECK_INT(kquantity("1G"), 1000000000LL);
	CHECK_INT(kquantity("1.5Gi"), 3LL << 29);
	CHECK_INT(kquantity("100"), 100);
	CHECK_INT(kquantity("12Qi"), -1);
	CHECK_INT(kquantity("-1Mi"), -1);

	/* API key: file (first line), env, neither, missing. */
	config_init(&cfg);
	snprintf(path, sizeof(path), "%s/key", tmpdir);
	f = fopen(path, "w");
	fputs("sk-abc  \nsecond line\n", f);
	fclose(f);
	cfg.diag.api_key_file = strdup(path);
	CHECK(diag_api_key(&cfg.diag, &key, err, sizeof(err)) == 0);
	CHECK_STR(key, "sk-abc");
	free(key);
	free(cfg.diag.api_key_file);
	cfg.diag.api_key_file = NULL;
	CHECK(diag_api_key(&cfg.diag, &key, err, sizeof(err)) == 0 &&
	    key == NULL);
	cfg.diag.api_key_env = strdup("REMEDY_TEST_NO_SUCH_VAR");
	CHECK(diag_api_key(&cfg.diag, &key, err, sizeof(err)) == -1);
	CHECK(strstr(err, "REMEDY_TEST_NO_SUCH_VAR is not set") != NULL);
	setenv("REMEDY_TEST_NO_SUCH_VAR", "k2", 1);
	CHECK(diag_api_key(&cfg.diag, &key, err, sizeof(err)) == 0);
	CHECK_STR(key, "k2");
	free(key);
	config_clear(&cfg);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.yaml", tmpdir);
	unlink(path);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_schema_file();
	test_validator();
	test_parse();
	test_redact();
	test_anonymize();
	test_llm_wire();
	test_llm_answers();
	test_cost();
	test_rules();
	test_actions();
	test_context();
	test_config_keys();
	rmdir(tmpdir);
	return T_DONE();
}
