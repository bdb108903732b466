/*
 * Exercises the C ABI as a C caller would: compiled with the system C compiler and linked
 * against libkeysweep_ffi (shared and static) by tests/c_abi.rs, and run under valgrind there
 * when it is installed. Every secret here is fake. Exits 0 and prints "all ok" on success;
 * otherwise prints the failed check and exits 1.
 */
#include "keysweep.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static const char TEXT[] =
    "# deploy settings\n"
    "aws_access_key_id = AKIAZ4X7Q2M9R3T8V6WN\n"
    "doc_example = AKIAIOSFODNN7EXAMPLE\n"
    "STRIPE_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n";

static const char ACME_RULES[] =
    "[[rule]]\n"
    "id = \"acme.key\"\n"
    "name = \"Acme key\"\n"
    "description = \"An Acme API key.\"\n"
    "keywords = [\"acme_\"]\n"
    "pattern = '\\b(?P<secret>acme_[a-z0-9]{16})\\b'\n"
    "confidence = \"high\"\n"
    "tags = [\"cloud\"]\n"
    "examples = [{ text = \"k = acme_q8w7e6r5t4y3u2i1\", secret = \"acme_q8w7e6r5t4y3u2i1\" }]\n"
    "negative_examples = [\"acme_short\"]\n";

static int is_hex32(const char *s) {
    if (s == NULL || strlen(s) != 32) return 0;
    for (int i = 0; i < 32; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    }
    return 1;
}

static const char *find(const char *needle) { return strstr(TEXT, needle); }

static void test_version(void) {
    CHECK(keysweep_abi_version() == KEYSWEEP_ABI_VERSION);
    const char *v = keysweep_version();
    CHECK(v != NULL && strlen(v) >= 5 && strchr(v, '.') != NULL);
    CHECK(strcmp(keysweep_confidence_name(KEYSWEEP_CONFIDENCE_HIGH), "high") == 0);
    CHECK(strcmp(keysweep_confidence_name(77), "unknown") == 0);
    CHECK(strcmp(keysweep_suppression_name(KEYSWEEP_SUPPRESSION_INLINE), "inline") == 0);
}

static void test_scan_builtin(void) {
    keysweep_error *err = (keysweep_error *)1; /* must be overwritten with NULL */
    keysweep_scanner *scanner = keysweep_scanner_new(NULL, &err);
    CHECK(scanner != NULL);
    CHECK(err == NULL);
    CHECK(keysweep_last_error_message() == NULL);
    CHECK(keysweep_scanner_rule_count(scanner) >= 200);

    keysweep_findings *found =
        keysweep_scan(scanner, (const uint8_t *)TEXT, strlen(TEXT), 0, &err);
    keysweep_findings *revealed = keysweep_scan(scanner, (const uint8_t *)TEXT, strlen(TEXT),
                                                KEYSWEEP_SCAN_SECRETS, NULL);
    /* Findings outlive their scanner. */
    keysweep_scanner_free(scanner);

    CHECK(found != NULL && err == NULL);
    CHECK(keysweep_findings_len(found) == 2); /* the EXAMPLE key is a placeholder */
    CHECK(keysweep_findings_get(found, 2) == NULL);

    const keysweep_finding *aws = keysweep_findings_get(found, 0);
    const keysweep_finding *stripe = keysweep_findings_get(found, 1);
    CHECK(aws != NULL && stripe != NULL);
    if (aws == NULL || stripe == NULL) return;

    CHECK(strcmp(aws->rule_id, "aws.access_key_id") == 0);
    CHECK(aws->start == (size_t)(find("AKIAZ4") - TEXT));
    CHECK(aws->end == aws->start + 20);
    CHECK(aws->line == 2 && aws->column == 21);
    CHECK(aws->end_line == 2 && aws->end_column == 41);
    CHECK(aws->confidence == KEYSWEEP_CONFIDENCE_HIGH);
    CHECK(aws->suppressed == KEYSWEEP_SUPPRESSION_NONE);
    CHECK(aws->secret == NULL && aws->secret_len == 0);
    CHECK(is_hex32(aws->fingerprint));
    CHECK(aws->entropy > 3.0 && aws->entropy < 8.0);
    CHECK(aws->decoded == NULL);

    CHECK(strcmp(stripe->rule_id, "stripe.secret_key.live") == 0);
    CHECK(stripe->start == (size_t)(find("sk_live_") - TEXT));
    CHECK(stripe->line == 4 && stripe->column == 15);
    CHECK(is_hex32(stripe->fingerprint));
    CHECK(strcmp(aws->fingerprint, stripe->fingerprint) != 0);

    CHECK(keysweep_findings_len(revealed) == 2);
    for (size_t i = 0; i < keysweep_findings_len(revealed); i++) {
        const keysweep_finding *r = keysweep_findings_get(revealed, i);
        const keysweep_finding *f = keysweep_findings_get(found, i);
        CHECK(r->secret != NULL);
        CHECK(r->secret_len == r->end - r->start);
        CHECK(memcmp(r->secret, TEXT + r->start, r->secret_len) == 0);
        CHECK(strcmp(r->fingerprint, f->fingerprint) == 0);
    }
    keysweep_findings_free(found);
    keysweep_findings_free(revealed);
}

/* A secret behind base64 (a Kubernetes Secret value): found, with the encoded span and the
 * layer named. */
static void test_decoded(void) {
    const char *yaml = "data:\n  STRIPE_API_KEY: c2tfbGl2ZV80ZUMzOUhxTHlqV0Rhcmp0VDF6ZHA3ZGM=\n";
    keysweep_scanner *scanner = keysweep_scanner_new(NULL, NULL);
    keysweep_findings *found =
        keysweep_scan(scanner, (const uint8_t *)yaml, strlen(yaml), KEYSWEEP_SCAN_SECRETS, NULL);
    CHECK(keysweep_findings_len(found) == 1);
    const keysweep_finding *f = keysweep_findings_get(found, 0);
    if (f != NULL) {
        CHECK(strcmp(f->rule_id, "stripe.secret_key.live") == 0);
        CHECK(f->decoded != NULL && strcmp(f->decoded, "base64") == 0);
        CHECK(f->start == (size_t)(strstr(yaml, "c2tf") - yaml));
        CHECK(f->line == 2 && f->column == 19);
        CHECK(f->secret_len == 32 && memcmp(f->secret, "sk_live_", 8) == 0);
    }
    keysweep_findings_free(found);
    keysweep_scanner_free(scanner);

    /* Depth 0: only the bytes as written. */
    keysweep_options *options = keysweep_options_new();
    CHECK(keysweep_options_set_decode_depth(options, 0) == KEYSWEEP_OK);
    CHECK(keysweep_options_set_decode_depth(NULL, 0) == KEYSWEEP_ERROR_NULL_POINTER);
    scanner = keysweep_scanner_new(options, NULL);
    found = keysweep_scan(scanner, (const uint8_t *)yaml, strlen(yaml), 0, NULL);
    for (size_t i = 0; i < keysweep_findings_len(found); i++) {
        CHECK(keysweep_findings_get(found, i)->decoded == NULL);
    }
    keysweep_findings_free(found);
    keysweep_scanner_free(scanner);
    keysweep_options_free(options);
}

static void test_errors(void) {
    keysweep_scanner *scanner = keysweep_scanner_new(NULL, NULL);
    keysweep_error *err = NULL;

    /* NULL scanner */
    CHECK(keysweep_scan(NULL, (const uint8_t *)"x", 1, 0, &err) == NULL);
    CHECK(err != NULL);
    CHECK(keysweep_error_code(err) == KEYSWEEP_ERROR_NULL_POINTER);
    CHECK(strstr(keysweep_error_message(err), "scanner") != NULL);
    CHECK(keysweep_last_error_message() != NULL);
    CHECK(strcmp(keysweep_last_error_message(), keysweep_error_message(err)) == 0);
    keysweep_error_free(err);
    err = NULL;

    /* NULL data is fine when empty, an error otherwise */
    keysweep_findings *none = keysweep_scan(scanner, NULL, 0, 0, &err);
    CHECK(none != NULL && err == NULL && keysweep_findings_len(none) == 0);
    CHECK(keysweep_last_error_message() == NULL); /* cleared by a successful call */
    keysweep_findings_free(none);
    CHECK(keysweep_scan(scanner, NULL, 5, 0, NULL) == NULL);
    CHECK(strstr(keysweep_last_error_message(), "data") != NULL);

    /* Unknown flags are refused, not ignored */
    CHECK(keysweep_scan(scanner, (const uint8_t *)"x", 1, 1u << 30, &err) == NULL);
    CHECK(keysweep_error_code(err) == KEYSWEEP_ERROR_INVALID_ARGUMENT);
    keysweep_error_free(err);
    err = NULL;

    /* Bad rule text: the error names origin, line and field, and nothing is added */
    keysweep_options *options = keysweep_options_new();
    const char *bad = "[[rule]]\nid = \"acme.key\"\nconfidence = \"sure\"\n";
    CHECK(keysweep_options_add_rules(options, bad, strlen(bad), "acme.toml", &err) ==
          KEYSWEEP_ERROR_RULES);
    CHECK(err != NULL && keysweep_error_code(err) == KEYSWEEP_ERROR_RULES);
    if (err != NULL) CHECK(strstr(keysweep_error_message(err), "acme.toml") != NULL);
    keysweep_error_free(err);
    err = NULL;

    /* Invalid UTF-8 */
    const char latin1[] = "id = \"caf\xe9\"";
    CHECK(keysweep_options_add_rules(options, latin1, strlen(latin1), NULL, NULL) ==
          KEYSWEEP_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(keysweep_last_error_message(), "UTF-8") != NULL);

    /* NULL options and arguments */
    CHECK(keysweep_options_add_rules(NULL, bad, strlen(bad), NULL, NULL) ==
          KEYSWEEP_ERROR_NULL_POINTER);
    CHECK(keysweep_options_add_rules(options, NULL, 3, NULL, NULL) ==
          KEYSWEEP_ERROR_NULL_POINTER);
    CHECK(keysweep_options_set_keep_suppressed(NULL, true) == KEYSWEEP_ERROR_NULL_POINTER);
    CHECK(keysweep_options_add_baseline(options, NULL) == KEYSWEEP_ERROR_NULL_POINTER);
    CHECK(keysweep_options_add_baseline(options, "not-hex") == KEYSWEEP_ERROR_INVALID_ARGUMENT);

    /* The same rule twice: refused when added */
    CHECK(keysweep_options_add_rules(options, ACME_RULES, strlen(ACME_RULES), "a.toml", NULL) ==
          KEYSWEEP_OK);
    CHECK(keysweep_options_add_rules(options, ACME_RULES, strlen(ACME_RULES), "b.toml", NULL) ==
          KEYSWEEP_ERROR_RULES);
    CHECK(strstr(keysweep_last_error_message(), "duplicate") != NULL);

    /* An allowlist pattern that does not compile fails the build */
    const char *broken = "(unclosed";
    CHECK(keysweep_options_add_allow_value(options, broken, strlen(broken)) == KEYSWEEP_OK);
    CHECK(keysweep_scanner_new(options, &err) == NULL);
    CHECK(keysweep_error_code(err) == KEYSWEEP_ERROR_PATTERN);
    keysweep_error_free(err);
    err = NULL;
    keysweep_options_free(options);

    /* No rules at all */
    options = keysweep_options_new();
    CHECK(keysweep_options_set_builtin_rules(options, false) == KEYSWEEP_OK);
    CHECK(keysweep_scanner_new(options, NULL) == NULL);
    CHECK(strstr(keysweep_last_error_message(), "no rules") != NULL);
    keysweep_options_free(options);

    /* Accessors and frees accept NULL */
    CHECK(keysweep_error_code(NULL) == KEYSWEEP_ERROR_NULL_POINTER);
    CHECK(keysweep_error_message(NULL) == NULL);
    CHECK(keysweep_findings_len(NULL) == 0);
    CHECK(keysweep_findings_get(NULL, 0) == NULL);
    CHECK(keysweep_scanner_rule_count(NULL) == 0);
    keysweep_error_free(NULL);
    keysweep_findings_free(NULL);
    keysweep_scanner_free(NULL);
    keysweep_options_free(NULL);
    keysweep_scanner_free(scanner);
}

static void test_options(void) {
    /* Extra rules only */
    keysweep_options *options = keysweep_options_new();
    CHECK(keysweep_options_set_builtin_rules(options, false) == KEYSWEEP_OK);
    CHECK(keysweep_options_add_rules(options, ACME_RULES, strlen(ACME_RULES), "acme.toml",
                                     NULL) == KEYSWEEP_OK);
    keysweep_scanner *scanner = keysweep_scanner_new(options, NULL);
    keysweep_options_free(options); /* the scanner does not need them */
    CHECK(scanner != NULL && keysweep_scanner_rule_count(scanner) == 1);
    const char *text = "token: acme_q8w7e6r5t4y3u2i1 and AKIAZ4X7Q2M9R3T8V6WN\n";
    keysweep_findings *found = keysweep_scan(scanner, (const uint8_t *)text, strlen(text), 0, NULL);
    CHECK(keysweep_findings_len(found) == 1);
    CHECK(strcmp(keysweep_findings_get(found, 0)->rule_id, "acme.key") == 0);
    keysweep_findings_free(found);
    keysweep_scanner_free(scanner);

    /* Suppressions, kept and labelled; a keyed fingerprint differs from the unkeyed one */
    const char *lines =
        "a = AKIAZ4X7Q2M9R3T8V6WN\n"
        "b = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"  # keysweep:allow\n"
        "c = AKIAIOSFODNN7EXAMPLE\n"
        "d = ghp_R8k2LmQ9xTz4VbN7cW1pYs6Hd3Jf5Ga0Ke2U\n";
    keysweep_scanner *plain = keysweep_scanner_new(NULL, NULL);
    keysweep_findings *before = keysweep_scan(plain, (const uint8_t *)lines, strlen(lines), 0, NULL);
    CHECK(keysweep_findings_len(before) >= 1);
    char aws_fingerprint[33] = {0};
    if (keysweep_findings_len(before) >= 1) {
        strncpy(aws_fingerprint, keysweep_findings_get(before, 0)->fingerprint, 32);
    }

    options = keysweep_options_new();
    CHECK(keysweep_options_set_keep_suppressed(options, true) == KEYSWEEP_OK);
    CHECK(keysweep_options_add_baseline(options, aws_fingerprint) == KEYSWEEP_OK);
    const char *allow = "^ghp_R8k2";
    CHECK(keysweep_options_add_allow_value(options, allow, strlen(allow)) == KEYSWEEP_OK);
    scanner = keysweep_scanner_new(options, NULL);
    CHECK(scanner != NULL);
    found = keysweep_scan(scanner, (const uint8_t *)lines, strlen(lines), 0, NULL);
    CHECK(keysweep_findings_len(found) == 4);
    if (keysweep_findings_len(found) == 4) {
        CHECK(keysweep_findings_get(found, 0)->suppressed == KEYSWEEP_SUPPRESSION_BASELINE);
        CHECK(keysweep_findings_get(found, 1)->suppressed == KEYSWEEP_SUPPRESSION_INLINE);
        CHECK(keysweep_findings_get(found, 2)->suppressed == KEYSWEEP_SUPPRESSION_PLACEHOLDER);
        CHECK(keysweep_findings_get(found, 3)->suppressed == KEYSWEEP_SUPPRESSION_ALLOWLIST);
    }
    keysweep_findings_free(found);
    keysweep_scanner_free(scanner);

    CHECK(keysweep_options_set_keep_suppressed(options, false) == KEYSWEEP_OK);
    CHECK(keysweep_options_set_inline_allow(options, false) == KEYSWEEP_OK);
    const char *key = "team-key";
    CHECK(keysweep_options_set_fingerprint_key(options, (const uint8_t *)key, strlen(key)) ==
          KEYSWEEP_OK);
    scanner = keysweep_scanner_new(options, NULL);
    found = keysweep_scan(scanner, (const uint8_t *)lines, strlen(lines), 0, NULL);
    /* The baseline fingerprint is unkeyed, so under a key it no longer matches: the AWS key is
     * reported again, and the inline comment is ignored. */
    CHECK(keysweep_findings_len(found) == 2);
    if (keysweep_findings_len(found) == 2) {
        CHECK(strcmp(keysweep_findings_get(found, 0)->rule_id, "aws.access_key_id") == 0);
        CHECK(strcmp(keysweep_findings_get(found, 0)->fingerprint, aws_fingerprint) != 0);
        CHECK(strcmp(keysweep_findings_get(found, 1)->rule_id, "stripe.secret_key.live") == 0);
    }
    keysweep_findings_free(found);
    keysweep_findings_free(before);
    keysweep_scanner_free(scanner);
    keysweep_scanner_free(plain);
    keysweep_options_free(options);
}

#define THREADS 4
#define SCANS 25

static void *scan_many(void *arg) {
    const keysweep_scanner *scanner = arg;
    long bad = 0;
    for (int i = 0; i < SCANS; i++) {
        keysweep_findings *found =
            keysweep_scan(scanner, (const uint8_t *)TEXT, strlen(TEXT), 0, NULL);
        if (found == NULL || keysweep_findings_len(found) != 2 ||
            strcmp(keysweep_findings_get(found, 1)->rule_id, "stripe.secret_key.live") != 0) {
            bad++;
        }
        keysweep_findings_free(found);
    }
    return (void *)bad;
}

static void test_threads(void) {
    keysweep_scanner *scanner = keysweep_scanner_new(NULL, NULL);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, scan_many, scanner) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *bad = NULL;
        pthread_join(threads[i], &bad);
        CHECK(bad == NULL);
    }
    keysweep_scanner_free(scanner);
}

static void test_min_confidence(void) {
    const char *text = "password = \"Zq8!vR2#mT6@pL\"\nSTRIPE_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n";
    keysweep_options *options = keysweep_options_new();
    CHECK(keysweep_options_set_min_confidence(options, KEYSWEEP_CONFIDENCE_HIGH) == KEYSWEEP_OK);
    CHECK(keysweep_options_set_min_confidence(options, 9) == KEYSWEEP_ERROR_INVALID_ARGUMENT);
    keysweep_scanner *high = keysweep_scanner_new(options, NULL);
    keysweep_options_free(options);
    keysweep_scanner *all = keysweep_scanner_new(NULL, NULL);
    keysweep_findings *a = keysweep_scan(all, (const uint8_t *)text, strlen(text), 0, NULL);
    keysweep_findings *h = keysweep_scan(high, (const uint8_t *)text, strlen(text), 0, NULL);
    CHECK(keysweep_findings_len(a) == 2);
    CHECK(keysweep_findings_len(h) == 1);
    CHECK(keysweep_findings_get(h, 0)->confidence == KEYSWEEP_CONFIDENCE_HIGH);
    CHECK(keysweep_findings_get(a, 0)->source == KEYSWEEP_SOURCE_BUFFER);
    CHECK(keysweep_findings_get(a, 0)->path == NULL);
    keysweep_findings_free(a);
    keysweep_findings_free(h);
    keysweep_scanner_free(all);
    keysweep_scanner_free(high);
}

static int is_hex40(const char *s) {
    if (s == NULL || strlen(s) != 40) return 0;
    for (int i = 0; i < 40; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    }
    return 1;
}

/* `fixture` (made by tests/c_abi.rs): tree/ with one secret in config/app.env, and repo/, a
 * git repository whose history holds a key removed since, with a token staged. */
static void test_paths_and_repositories(const char *fixture) {
    char path[4096];
    keysweep_options *options = keysweep_options_new();
    CHECK(keysweep_options_set_threads(options, 2) == KEYSWEEP_OK);
    keysweep_scanner *scanner = keysweep_scanner_new(options, NULL);
    keysweep_options_free(options);
    keysweep_error *err = NULL;

    snprintf(path, sizeof path, "%s/tree", fixture);
    keysweep_findings *found = keysweep_scan_path(scanner, path, 0, &err);
    CHECK(found != NULL && err == NULL);
    CHECK(keysweep_findings_len(found) == 1);
    CHECK(keysweep_findings_problem_count(found) == 0);
    const keysweep_finding *f = keysweep_findings_get(found, 0);
    if (f != NULL) {
        CHECK(f->source == KEYSWEEP_SOURCE_FILE);
        CHECK(f->path != NULL && strstr(f->path, "tree/config/app.env") != NULL);
        CHECK(strcmp(f->rule_id, "stripe.secret_key.live") == 0);
        CHECK(f->line == 2);
        CHECK(f->commit == NULL && f->blob == NULL);
        CHECK(f->present_at_head);
    }
    keysweep_findings_free(found);

    snprintf(path, sizeof path, "%s/missing", fixture);
    CHECK(keysweep_scan_path(scanner, path, 0, &err) == NULL);
    CHECK(keysweep_error_code(err) == KEYSWEEP_ERROR_IO);
    CHECK(strstr(keysweep_error_message(err), "missing") != NULL);
    keysweep_error_free(err);
    err = NULL;

    snprintf(path, sizeof path, "%s/repo", fixture);
    found = keysweep_scan_repository(scanner, path, NULL, 0, &err);
    CHECK(found != NULL && err == NULL);
    CHECK(keysweep_findings_len(found) == 1);
    f = keysweep_findings_get(found, 0);
    if (f != NULL) {
        CHECK(f->source == KEYSWEEP_SOURCE_HISTORY);
        CHECK(f->path != NULL && strcmp(f->path, "deploy.env") == 0);
        CHECK(is_hex40(f->commit) && is_hex40(f->blob));
        CHECK(f->author != NULL && strcmp(f->author, "Ada Dev <ada@example.com>") == 0);
        CHECK(f->date != NULL && strncmp(f->date, "2020-09-13T", 11) == 0);
        CHECK(!f->present_at_head);
        CHECK(f->repository != NULL);
    }
    keysweep_findings_free(found);

    /* Only what came after HEAD: nothing. */
    found = keysweep_scan_repository(scanner, path, "HEAD", 0, NULL);
    CHECK(found != NULL && keysweep_findings_len(found) == 0);
    keysweep_findings_free(found);
    CHECK(keysweep_scan_repository(scanner, path, "no-such-rev", 0, &err) == NULL);
    CHECK(keysweep_error_code(err) == KEYSWEEP_ERROR_IO);
    keysweep_error_free(err);
    err = NULL;

    found = keysweep_scan_staged(scanner, path, KEYSWEEP_SCAN_SECRETS, &err);
    CHECK(found != NULL && keysweep_findings_len(found) == 1);
    f = keysweep_findings_get(found, 0);
    if (f != NULL) {
        CHECK(f->source == KEYSWEEP_SOURCE_CHANGE);
        CHECK(strcmp(f->rule_id, "github.pat.classic") == 0);
        CHECK(f->secret_len == 40 && memcmp(f->secret, "ghp_", 4) == 0);
    }
    keysweep_findings_free(found);

    /* A `docker save` archive: a key added in layer 1, deleted by a whiteout in layer 2. */
    snprintf(path, sizeof path, "%s/image.tar", fixture);
    found = keysweep_scan_image(scanner, path, 0, &err);
    CHECK(found != NULL && err == NULL);
    CHECK(keysweep_findings_len(found) == 1);
    f = keysweep_findings_get(found, 0);
    if (f != NULL) {
        CHECK(f->source == KEYSWEEP_SOURCE_IMAGE);
        CHECK(strcmp(f->rule_id, "aws.access_key_id") == 0);
        CHECK(f->path != NULL && strcmp(f->path, "app/deploy.env") == 0);
        CHECK(f->image != NULL && strstr(f->image, "image.tar") != NULL);
        CHECK(f->image_tags != NULL && strcmp(f->image_tags, "example/app:1") == 0);
        CHECK(f->image_part != NULL && strcmp(f->image_part, "layer") == 0);
        CHECK(f->image_field == NULL);
        CHECK(f->layer_digest != NULL && strncmp(f->layer_digest, "sha256:", 7) == 0);
        CHECK(f->layer_index == 1 && f->layer_count == 2 && f->removed_in == 2);
        CHECK(!f->present_at_head);
        CHECK(f->secret == NULL);
    }
    keysweep_findings_free(found);
    snprintf(path, sizeof path, "%s/tree", fixture);
    CHECK(keysweep_scan_image(scanner, path, 0, &err) == NULL);
    CHECK(keysweep_error_code(err) == KEYSWEEP_ERROR_IO);
    keysweep_error_free(err);
    err = NULL;
    keysweep_scanner_free(scanner);
}

int main(int argc, char **argv) {
    test_version();
    test_scan_builtin();
    test_decoded();
    test_errors();
    test_options();
    test_threads();
    test_min_confidence();
    if (argc > 1) {
        test_paths_and_repositories(argv[1]);
    } else {
        fprintf(stderr, "no fixture directory given: path and repository scans not tested\n");
        failures++;
    }
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all ok\n");
    return 0;
}
