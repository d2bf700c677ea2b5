// Package config reads keepalived.conf, the configuration language of
// keepalived 2.2 as keepalived.conf(5) describes it, into a typed model.
//
// Reading happens in two stages, as in keepalived's lib/parser.c. The
// preprocessor turns files into logical lines: it strips comments, follows
// include globs, evaluates @id / @^id conditionals, defines and expands
// $NAME variables (multiline ones too) and unrolls ~SEQ and ~LST. Braces
// become lines of their own. The parser then reads those lines in order,
// each keyword's handler deciding whether a block follows, fills the model
// with keepalived's defaults, resolves what blocks inherit (global garp
// settings into instances, a virtual server's timing into its real
// servers and their checkers) and validates it.
//
// Every Diagnostic carries the file and line it concerns. The severity
// follows keepalived -t: everything keepalived reports makes the
// configuration fail its test and is an Error, even when keepalived's own
// wording says "Warning" or "ignoring"; the few problems keepalived -t
// reports but still accepts (an include that matches no file, an include
// loop) are Warnings. Checks that depend on the machine, such as whether
// an interface exists or a script can be run, are made only when
// Options.CheckSystem is set.
//
// A Config is also JSON (through encoding/json) and keepalived.conf text
// (WriteText), both with every default filled in.
package config
