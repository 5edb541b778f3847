/* metrics.c - accumulating loss, accuracy and confusion over evaluation passes. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fn_metrics_init(fn_metrics *m, int classes)
{
    memset(m, 0, sizeof *m);
    m->classes = classes;
    m->confusion = calloc((size_t)classes * classes, sizeof *m->confusion);
    return m->confusion ? 0 : -1;
}

void fn_metrics_reset(fn_metrics *m)
{
    memset(m->confusion, 0, (size_t)m->classes * m->classes * sizeof *m->confusion);
    m->loss_sum = 0;
    m->seen = m->correct = 0;
}

void fn_metrics_free(fn_metrics *m)
{
    free(m->confusion);
    m->confusion = NULL;
}

int fn_argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* log(sum(exp(v))) without overflow. */
static double log_sum_exp(const float *v, int n)
{
    double top = v[fn_argmax(v, n)], sum = 0;
    for (int i = 0; i < n; i++)
        sum += exp(v[i] - top);
    return top + log(sum);
}

void fn_softmax(const float *logits, int n, double *probs)
{
    double lse = log_sum_exp(logits, n);
    for (int i = 0; i < n; i++)
        probs[i] = exp(logits[i] - lse);
}

void fn_metrics_add(fn_metrics *m, const float *logits, const int32_t *labels, int n)
{
    for (int i = 0; i < n; i++) {
        const float *row = logits + (long)i * m->classes;
        int predicted = fn_argmax(row, m->classes), label = labels[i];
        m->loss_sum += log_sum_exp(row, m->classes) - row[label];
        m->correct += predicted == label;
        m->confusion[(long)label * m->classes + predicted]++;
        m->seen++;
    }
}

double fn_metrics_loss(const fn_metrics *m)
{
    return m->seen ? m->loss_sum / m->seen : NAN;
}

double fn_metrics_accuracy(const fn_metrics *m)
{
    return m->seen ? (double)m->correct / m->seen : NAN;
}

/* Past this many classes a matrix is unreadable: list the worst pairs instead. */
#define MATRIX_MAX_CLASSES 30
#define CONFUSED_PAIRS 10

static void print_confused_pairs(const fn_metrics *m, const char *const *class_names, FILE *f)
{
    long n = (long)m->classes * m->classes, shown[CONFUSED_PAIRS];
    int k = 0;
    fprintf(f, "\n%d classes: the confusion matrix is too large to print; the most frequent "
            "mistakes:\n", m->classes);
    for (; k < CONFUSED_PAIRS; k++) { /* repeated selection: k is small */
        long best = -1;
        for (long i = 0; i < n; i++) {
            int taken = i / m->classes == i % m->classes || m->confusion[i] == 0;
            for (int j = 0; j < k && !taken; j++)
                taken = shown[j] == i;
            if (!taken && (best < 0 || m->confusion[i] > m->confusion[best]))
                best = i;
        }
        if (best < 0)
            break;
        shown[k] = best;
        fprintf(f, "  %6ld  %s taken for %s\n", m->confusion[best],
                class_names[best / m->classes], class_names[best % m->classes]);
    }
    if (k == 0)
        fprintf(f, "  none\n");
}

void fn_metrics_print(const fn_metrics *m, const char *const *class_names, FILE *f)
{
    int width = 5; /* the widest class name, for aligned columns */
    for (int c = 0; c < m->classes; c++)
        if ((int)strlen(class_names[c]) > width)
            width = (int)strlen(class_names[c]);
    fprintf(f, "%-*s  %8s  %8s\n", width, "class", "images", "accuracy");
    for (int c = 0; c < m->classes; c++) {
        long total = 0, right = m->confusion[(long)c * m->classes + c];
        for (int p = 0; p < m->classes; p++)
            total += m->confusion[(long)c * m->classes + p];
        if (total)
            fprintf(f, "%-*s  %8ld  %7.2f%%\n", width, class_names[c], total, 100.0 * right / total);
        else
            fprintf(f, "%-*s  %8ld  %8s\n", width, class_names[c], total, "-");
    }
    if (m->classes > MATRIX_MAX_CLASSES) {
        print_confused_pairs(m, class_names, f);
        return;
    }
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted)\n%-*s", width, "");
    for (int p = 0; p < m->classes; p++)
        fprintf(f, "  %*s", width, class_names[p]);
    fprintf(f, "\n");
    for (int c = 0; c < m->classes; c++) {
        fprintf(f, "%-*s", width, class_names[c]);
        for (int p = 0; p < m->classes; p++)
            fprintf(f, "  %*ld", width, m->confusion[(long)c * m->classes + p]);
        fprintf(f, "\n");
    }
}
