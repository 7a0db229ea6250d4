/* gen.c - webswamp-gen: creates a Surge-like document set in a docroot and its docset file */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "docset.h"
#include "param.h"

#define PROG "webswamp-gen"

struct gen_opts {
	struct swamp_gen_params p;
	const char *docroot;
	const char *out;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: " PROG " [OPTIONS] DOCROOT\n"
	    "Creates a Surge-like document set for webswamp's surge driver: COUNT files under\n"
	    "DOCROOT/PREFIX with sizes from Surge's model (lognormal body, Pareto tail, capped\n"
	    "at --max-size), a random Zipf popularity order, and the docset file describing them\n"
	    "(pass it to webswamp/sockclient/sockclient-linux --driver surge --docset FILE).\n\n"
	    "  -n, --count N        documents (default %d)\n"
	    "      --seed N         seed of the sizes and the popularity order (default 1)\n"
	    "      --zipf ALPHA     popularity of rank r is proportional to r^-ALPHA (default %g)\n"
	    "      --max-size BYTES largest document (default %lu)\n"
	    "      --prefix PATH    URL path prefix of the documents (default %s)\n"
	    "  -o, --output FILE    docset file (default DOCROOT/%s)\n"
	    "  -h, --help           this text\n",
	    SWAMP_GEN_COUNT_DEFAULT, SWAMP_GEN_ZIPF_DEFAULT, SWAMP_GEN_MAX_SIZE_DEFAULT,
	    SWAMP_GEN_PREFIX, SWAMP_DOCSET_NAME);
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, PROG ": %s: '%s' (see --help)\n", what, arg);
	return -EINVAL;
}

static int gen_parse_opt(int opt, const char *arg, struct gen_opts *g)
{
	uint64_t v;
	char *end;

	switch (opt) {
	case 'n':
		if (swamp_parse_u64(arg, SWAMP_DOCSET_COUNT_MAX, &v) || !v)
			return bad("-n wants a count 1-4194304", arg);
		g->p.count = (uint32_t)v;
		return 0;
	case 's':
		return swamp_parse_u64(arg, UINT64_MAX, &g->p.seed)
			   ? bad("--seed wants a number", arg)
			   : 0;
	case 'z':
		g->p.zipf = strtod(arg, &end);
		if (end == arg || *end || !isfinite(g->p.zipf) || g->p.zipf < 0 || g->p.zipf > 10)
			return bad("--zipf wants an exponent 0-10", arg);
		return 0;
	case 'm':
		return swamp_parse_u64(arg, SWAMP_DOCSET_SIZE_MAX, &g->p.max_size)
			   ? bad("--max-size wants bytes (at most 2^40)", arg)
			   : 0;
	case 'p':
		/* The documents are PREFIX/NNNNNN: the prefix must itself be a valid path. */
		if (!swamp_docset_path_ok(arg, strlen(arg)) || strlen(arg) > 200)
			return bad("--prefix wants a path like /ws ([A-Za-z0-9._-] segments)", arg);
		g->p.prefix = arg;
		return 0;
	case 'o':
		g->out = arg;
		return 0;
	default:
		return -EINVAL;
	}
}

static int gen_parse(int argc, char **argv, struct gen_opts *g)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},  {"seed", required_argument, NULL, 's'},
	    {"zipf", required_argument, NULL, 'z'},   {"max-size", required_argument, NULL, 'm'},
	    {"prefix", required_argument, NULL, 'p'}, {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	int opt, rc;

	g->p = (struct swamp_gen_params){SWAMP_GEN_COUNT_DEFAULT, SWAMP_GEN_ZIPF_DEFAULT, 1,
					 SWAMP_GEN_MAX_SIZE_DEFAULT, SWAMP_GEN_PREFIX};
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:o:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == ':' || opt == '?')
			return bad(opt == ':' ? "option needs a value" : "unknown option",
				   argv[optind - 1]);
		rc = gen_parse_opt(opt, optarg, g);
		if (rc)
			return rc;
	}
	if (optind + 1 != argc)
		return bad("exactly one DOCROOT wanted", optind < argc ? argv[optind + 1] : "");
	g->docroot = argv[optind];
	return 0;
}

/* mkdir -p for the directories of `path` (not its last component). */
static int mkdirs(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			int rc = -errno;

			*s = '/';
			return rc;
		}
		*s = '/';
	}
	return 0;
}

/* Real bytes, not a sparse file: servers should read what they serve. */
static int write_doc(const char *file, uint64_t size)
{
	static char pattern[64 * 1024];
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = 0;

	if (!pattern[0])
		for (size_t i = 0; i < sizeof(pattern); i++)
			pattern[i] = "webswamp"[i % 8];
	if (fd < 0)
		return -errno;
	while (size && !rc) {
		size_t n = size < sizeof(pattern) ? (size_t)size : sizeof(pattern);
		ssize_t w = write(fd, pattern, n);

		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			size -= (uint64_t)w;
	}
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

static int gen_files(const struct gen_opts *g, const struct swamp_docset *ds, uint64_t *total)
{
	char file[PATH_MAX];
	int rc;

	*total = 0;
	for (uint32_t i = 0; i < ds->count; i++) {
		const char *path = swamp_docset_path(ds, i);

		if (snprintf(file, sizeof(file), "%s%s", g->docroot, path) >= (int)sizeof(file))
			return -ENAMETOOLONG;
		rc = mkdirs(file);
		if (!rc)
			rc = write_doc(file, ds->docs[i].size);
		if (rc) {
			fprintf(stderr, PROG ": %s: %s\n", file, strerror(-rc));
			return rc;
		}
		*total += ds->docs[i].size;
	}
	return 0;
}

static int gen_run(const struct gen_opts *g)
{
	struct swamp_docset *ds;
	char out[PATH_MAX];
	uint64_t total, largest = 0;
	int rc;

	if (g->out)
		snprintf(out, sizeof(out), "%s", g->out);
	else if (snprintf(out, sizeof(out), "%s/%s", g->docroot, SWAMP_DOCSET_NAME) >=
		 (int)sizeof(out))
		return -ENAMETOOLONG;
	if (mkdir(g->docroot, 0755) && errno != EEXIST) {
		fprintf(stderr, PROG ": %s: %s\n", g->docroot, strerror(errno));
		return -errno;
	}
	rc = swamp_docset_generate(&g->p, &ds);
	if (rc) {
		fprintf(stderr, PROG ": cannot generate: %s\n", strerror(-rc));
		return rc;
	}
	rc = gen_files(g, ds, &total);
	if (!rc && (rc = swamp_docset_write(ds, out)))
		fprintf(stderr, PROG ": %s: %s\n", out, strerror(-rc));
	if (!rc) {
		for (uint32_t i = 0; i < ds->count; i++)
			largest = ds->docs[i].size > largest ? ds->docs[i].size : largest;
		printf(PROG ": %" PRIu32 " documents, %" PRIu64 " bytes (largest %" PRIu64
			    "), docset %s\n",
		       ds->count, total, largest, out);
	}
	swamp_docset_free(ds);
	return rc;
}

int main(int argc, char **argv)
{
	struct gen_opts g = {0};
	int rc = gen_parse(argc, argv, &g);

	if (rc)
		return rc > 0 ? 0 : 2;
	return gen_run(&g) ? 1 : 0;
}
