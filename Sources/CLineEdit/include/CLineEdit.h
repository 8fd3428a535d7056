// A small C shim over libedit (Debian: libedit-dev, <histedit.h>). el_set is variadic, which Swift cannot
// call, so every call LineEditor needs is wrapped here with a fixed signature.
#ifndef SWIFTLET_CLINEEDIT_H
#define SWIFTLET_CLINEEDIT_H

typedef struct swiftlet_line_editor swiftlet_line_editor;

/// Results of swiftlet_le_read.
enum {
    SWIFTLET_LE_ERROR = -1,
    SWIFTLET_LE_EOF = 0,         // Ctrl-D on an empty line, or end of input
    SWIFTLET_LE_LINE = 1,        // a line was entered
    SWIFTLET_LE_INTERRUPTED = 2  // Ctrl-C: the line was cancelled
};

/// An editor on the terminal `input_fd` / `output_fd` (emacs key bindings, in-memory history of
/// `history_size` lines). Ctrl-C while editing cancels the line (the terminal's ISIG is off while editing,
/// so no SIGINT is sent then). NULL on failure.
swiftlet_line_editor *swiftlet_le_open(const char *program, int input_fd, int output_fd, int history_size);
void swiftlet_le_close(swiftlet_line_editor *editor);
/// Reads one line after printing `prompt`. On SWIFTLET_LE_LINE, *line points to the text (without the
/// newline, valid until the next call) and *length is its byte count.
int swiftlet_le_read(swiftlet_line_editor *editor, const char *prompt, const char **line, int *length);
void swiftlet_le_add_history(swiftlet_line_editor *editor, const char *line);
/// 0 on success, -1 on failure.
int swiftlet_le_load_history(swiftlet_line_editor *editor, const char *path);
int swiftlet_le_save_history(swiftlet_line_editor *editor, const char *path);

#endif
