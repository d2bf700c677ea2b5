// Package config reads keepalived.conf, the configuration language of
// keepalived 2.2 as keepalived.conf(5) describes it, into a typed model.
//
// Reading happens in two stages. The preprocessor turns files into logical
// lines: it strips comments, follows include globs, evaluates @id / @^id
// conditionals, defines and expands $NAME variables and unrolls ~SEQ and
// ~LST. The parser then walks the words of those lines as keepalived's
// keyword tree does, fills the model with keepalived's defaults and
// validates it. Every diagnostic carries the file and line it came from.
package config
