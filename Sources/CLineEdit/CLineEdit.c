#include "CLineEdit.h"

#include <errno.h>
#include <histedit.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct swiftlet_line_editor {
    EditLine *el;
    History *history;
    HistEvent event;
    FILE *input, *output;
    const char *prompt;
    int interrupted;
    char *line;          // the last line read, without its newline
    size_t line_capacity;
};

static char *prompt_function(EditLine *el) {
    struct swiftlet_line_editor *editor = NULL;
    el_get(el, EL_CLIENTDATA, &editor);
    return (char *)(editor && editor->prompt ? editor->prompt : "");
}

// Bound to ^C: mark the line cancelled and end it (swiftlet_le_read then shows "^C" and a newline).
static unsigned char interrupt_function(EditLine *el, int ch) {
    (void)ch;
    struct swiftlet_line_editor *editor = NULL;
    el_get(el, EL_CLIENTDATA, &editor);
    if (editor) editor->interrupted = 1;
    return CC_NEWLINE;
}

// Bound to ^Z (the terminal's suspend key is off while editing, with -isig below, and the key would otherwise be
// typed into the line): stop the job as the terminal would, by SIGTSTP to its foreground process group, with the
// terminal in its normal mode meanwhile; when continued (fg), editing mode comes back and the line is redrawn.
static unsigned char suspend_function(EditLine *el, int ch) {
    (void)ch;
    struct swiftlet_line_editor *editor = NULL;
    el_get(el, EL_CLIENTDATA, &editor);
    if (!editor) return CC_NORM;
    el_set(el, EL_PREP_TERM, 0);
    fputc('\n', editor->output);
    fflush(editor->output);
    pid_t group = tcgetpgrp(fileno(editor->input));
    if (group > 0) kill(-group, SIGTSTP); else raise(SIGTSTP);
    el_set(el, EL_PREP_TERM, 1);
    return CC_REDISPLAY;
}

swiftlet_line_editor *swiftlet_le_open(const char *program, int input_fd, int output_fd, int history_size) {
    struct swiftlet_line_editor *editor = calloc(1, sizeof *editor);
    if (!editor) return NULL;
    // libedit reads characters of more than one byte only in a UTF-8 locale: in the C locale, which a program
    // starts in, it dropped every non-ASCII character typed ("Café 日本語" reached the model as "Caf ").
    if (!setlocale(LC_CTYPE, "") || strcmp(nl_langinfo(CODESET), "UTF-8") != 0) setlocale(LC_CTYPE, "C.UTF-8");
    int in = dup(input_fd), out = dup(output_fd);
    editor->input = in >= 0 ? fdopen(in, "r") : NULL;
    editor->output = out >= 0 ? fdopen(out, "w") : NULL;
    if (!editor->input || !editor->output) goto fail;
    editor->el = el_init(program, editor->input, editor->output, stderr);
    editor->history = history_init();
    if (!editor->el || !editor->history) goto fail;
    history(editor->history, &editor->event, H_SETSIZE, history_size > 0 ? history_size : 1000);
    history(editor->history, &editor->event, H_SETUNIQUE, 1);
    el_set(editor->el, EL_CLIENTDATA, editor);
    el_set(editor->el, EL_EDITOR, "emacs");
    // No signal handling by libedit: its handler passed a SIGTERM or SIGHUP on to the whole process group
    // (kill(0, ...)), ending the shell that started us too. The process's own handlers stay, and
    // swiftlet_le_read lets them interrupt a read.
    el_set(editor->el, EL_SIGNAL, 0);
    el_set(editor->el, EL_PROMPT, prompt_function);
    el_set(editor->el, EL_HIST, history, editor->history);
    el_set(editor->el, EL_ADDFN, "swiftlet-interrupt", "Cancel the current line", interrupt_function);
    // While editing, ^C and ^Z are keys (bound below) rather than SIGINT and SIGTSTP.
    const char *setty[] = {"setty", "-d", "-isig", NULL};
    el_parse(editor->el, 3, setty);
    el_set(editor->el, EL_BIND, "^C", "swiftlet-interrupt", NULL);
    el_set(editor->el, EL_ADDFN, "swiftlet-suspend", "Suspend (job control)", suspend_function);
    el_set(editor->el, EL_BIND, "^Z", "swiftlet-suspend", NULL);
    return editor;
fail:
    swiftlet_le_close(editor);
    return NULL;
}

void swiftlet_le_close(swiftlet_line_editor *editor) {
    if (!editor) return;
    if (editor->el) el_end(editor->el);
    if (editor->history) history_end(editor->history);
    if (editor->input) fclose(editor->input);
    if (editor->output) fclose(editor->output);
    free(editor->line);
    free(editor);
}

// While a line is read, a stop signal the process handles (SIGINT from outside, SIGTERM, SIGHUP) interrupts the
// read instead of restarting it, so the caller sees it at once (el_gets returns with EINTR, the terminal back in
// its normal mode); the handlers' own flags come back afterwards.
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { stop_signal_count = sizeof stop_signals / sizeof stop_signals[0] };

static void interrupt_reads(struct sigaction saved[stop_signal_count]) {
    for (int i = 0; i < stop_signal_count; i++) {
        sigaction(stop_signals[i], NULL, &saved[i]);
        if (saved[i].sa_handler == SIG_DFL || saved[i].sa_handler == SIG_IGN) continue;
        struct sigaction interrupting = saved[i];
        interrupting.sa_flags &= ~SA_RESTART;
        sigaction(stop_signals[i], &interrupting, NULL);
    }
}

static void restore_handlers(const struct sigaction saved[stop_signal_count]) {
    for (int i = 0; i < stop_signal_count; i++) sigaction(stop_signals[i], &saved[i], NULL);
}

int swiftlet_le_read(swiftlet_line_editor *editor, const char *prompt, const char **line, int *length) {
    editor->prompt = prompt;
    editor->interrupted = 0;
    int count = 0;
    struct sigaction saved[stop_signal_count];
    interrupt_reads(saved);
    const char *text = el_gets(editor->el, &count);
    int read_errno = errno;
    restore_handlers(saved);
    errno = read_errno;
    editor->prompt = NULL;
    if (editor->interrupted) {
        fputs("^C\n", editor->output);
        fflush(editor->output);
        return SWIFTLET_LE_INTERRUPTED;
    }
    if (!text && count < 0 && errno == EINTR) {
        // A signal from outside (kill -INT) interrupted the read: treat it like Ctrl-C, not as the end.
        fputs("\n", editor->output);
        fflush(editor->output);
        return SWIFTLET_LE_INTERRUPTED;
    }
    if (!text) return count < 0 ? SWIFTLET_LE_ERROR : SWIFTLET_LE_EOF;
    if (count == 0) return SWIFTLET_LE_EOF;
    size_t n = (size_t)count;
    if (n > 0 && text[n - 1] == '\n') n -= 1;
    if (n + 1 > editor->line_capacity) {
        char *grown = realloc(editor->line, n + 1);
        if (!grown) return SWIFTLET_LE_ERROR;
        editor->line = grown;
        editor->line_capacity = n + 1;
    }
    memcpy(editor->line, text, n);
    editor->line[n] = '\0';
    *line = editor->line;
    *length = (int)n;
    return SWIFTLET_LE_LINE;
}

void swiftlet_le_add_history(swiftlet_line_editor *editor, const char *line) {
    history(editor->history, &editor->event, H_ENTER, line);
}

int swiftlet_le_load_history(swiftlet_line_editor *editor, const char *path) {
    return history(editor->history, &editor->event, H_LOAD, path) < 0 ? -1 : 0;
}

int swiftlet_le_save_history(swiftlet_line_editor *editor, const char *path) {
    return history(editor->history, &editor->event, H_SAVE, path) < 0 ? -1 : 0;
}
