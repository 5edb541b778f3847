/*
 * jpeg_guard.c - checks that stb_image 2.27's JPEG reader lacks.
 *
 * stb_image 2.27 (Debian 12's libstb) trusts a JPEG's Huffman tables:
 *  - a table (a DHT segment) says how many codes of each length, 1 to 16
 *    bits, it holds; stb_image writes each code's length and value into
 *    arrays of 257 and 256 entries without checking the total, so a table of
 *    more than 256 codes writes past them;
 *  - a scan names the tables its components decode with; one that no DHT
 *    defined is read uninitialised, and its garbage indexes those arrays.
 * fuzz_image found both.  fn_jpeg_problem walks a file's markers the way
 * stb_image reads them, in the header and between the scans of a
 * progressive JPEG, and names such a table before stb_image sees the file.
 *
 * Where stb_image would stop reading (garbage between segments, a bad
 * length), the walk goes on: it may look at more tables than stb_image, never
 * at fewer.
 */
#include "data_internal.h"

#define MARKER_SOI 0xd8
#define MARKER_EOI 0xd9
#define MARKER_SOS 0xda
#define MARKER_DHT 0xc4
#define MAX_CODES 256

/* stb_image reads zeros past the end of a file; so does the walk. */
static int get8(FILE *f)
{
    int c = getc(f);
    return c == EOF ? 0 : c;
}

static int get16(FILE *f)
{
    int hi = get8(f);
    return hi << 8 | get8(f);
}

/* The marker after 0xFF (and any 0xFF fill), or -1 at the end of the file. */
static int marker_after_ff(FILE *f)
{
    int c;
    do
        c = getc(f);
    while (c == 0xff);
    return c == EOF ? -1 : c;
}

/* The next marker from here, skipping bytes that are not 0xFF; -1 at the end. */
static int next_marker(FILE *f)
{
    int c;
    while ((c = getc(f)) != EOF)
        if (c == 0xff)
            return marker_after_ff(f);
    return -1;
}

/* The marker that ends a scan's entropy-coded data: the first 0xFF followed
   by neither a stuffed 0 nor a restart marker; -1 at the end. */
static int marker_after_scan(FILE *f)
{
    for (;;) {
        int m = next_marker(f);
        if (m != 0 && !(m >= 0xd0 && m <= 0xd7))
            return m;
    }
}

/* One DHT segment, read table by table as stb_image reads it (past the
   segment's end if its length says so): 0 if a table has too many codes.
   Each table it defines sets bit 4 * class + id of *defined. */
static int dht_ok(FILE *f, unsigned *defined)
{
    for (int left = get16(f) - 2; left > 0;) {
        int table = get8(f); /* class << 4 | id; stb_image refuses others */
        if (table >> 4 <= 1 && (table & 15) <= 3)
            *defined |= 1u << ((table >> 4) * 4 + (table & 15));
        int codes = 0;
        for (int len = 0; len < 16; len++)
            codes += get8(f);
        if (codes > MAX_CODES)
            return 0;
        if (fseek(f, codes, SEEK_CUR) != 0)
            return 1;
        left -= 17 + codes;
    }
    return 1;
}

/* An SOS header: 0 if the scan decodes with a Huffman table that no DHT has
   defined, which stb_image 2.27 would read uninitialised and index its arrays
   with (fuzz_image found it).  A scan from coefficient 0 uses each
   component's DC table, one past it their AC tables. */
static int sos_ok(FILE *f, unsigned defined)
{
    long end = ftell(f);
    end += get16(f);
    int n = get8(f), tables[4] = {0};
    for (int i = 0; i < n && i < 4; i++) {
        get8(f); /* component id */
        tables[i] = get8(f);
    }
    int first = get8(f), last = get8(f);
    int ok = 1;
    for (int i = 0; i < n && i < 4; i++) {
        int dc = tables[i] >> 4, ac = tables[i] & 15;
        if (first == 0 && dc <= 3 && !(defined & 1u << dc))
            ok = 0;
        if (last > 0 && ac <= 3 && !(defined & 1u << (4 + ac)))
            ok = 0;
    }
    fseek(f, end, SEEK_SET);
    return ok;
}

const char *fn_jpeg_problem(FILE *f)
{
    long start = ftell(f);
    const char *problem = NULL;
    unsigned defined = 0; /* the Huffman tables the DHTs so far defined */
    /* stb_image takes fill bytes (0xFF) before SOI too (fuzz_image found a
       file that reached its tables that way) */
    if (get8(f) == 0xff && marker_after_ff(f) == MARKER_SOI) {
        int m = next_marker(f);
        while (m >= 0 && m != MARKER_EOI && !problem) {
            int standalone = m == 0x01 || m == MARKER_SOI || (m >= 0xd0 && m <= 0xd7);
            if (m == MARKER_DHT) {
                if (!dht_ok(f, &defined))
                    problem = "a Huffman table of more than 256 codes";
            } else if (m == MARKER_SOS) {
                if (!sos_ok(f, defined))
                    problem = "a scan decodes with a Huffman table that no DHT defines";
            } else if (!standalone) {
                int len = get16(f);
                if (len < 2 || fseek(f, len - 2, SEEK_CUR) != 0)
                    break; /* stb_image stops here too */
            }
            m = m == MARKER_SOS ? marker_after_scan(f) : next_marker(f);
        }
    }
    fseek(f, start, SEEK_SET);
    return problem;
}
