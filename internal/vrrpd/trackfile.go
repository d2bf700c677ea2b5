package vrrpd

import (
	"fmt"
	"io"
	"os"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/safefile"
)

// initTrackFiles writes the init_file values of cfg's vrrp_track_files as
// keepalived's vrrp_tfile_end_handler does: a file that exists is kept
// unless init_file says overwrite, and then only at start-up, and only if
// it is a regular file; the value is written as every file the daemon
// writes, never through a symlink.
func (l *Loop) initTrackFiles(cfg *config.Config, reload bool) {
	for i := range cfg.TrackFiles {
		f := &cfg.TrackFiles[i]
		if !f.InitFile || f.File == "" {
			continue
		}
		if st, err := os.Stat(f.File); err == nil {
			if !f.InitOverwrite {
				continue
			}
			if !st.Mode().IsRegular() {
				l.log.Errorf("Cannot initialise track file %s - it is not a regular file", f.Name)
				continue
			}
			if reload {
				continue
			}
		}
		err := safefile.WriteFile(f.File, l.fileMode(), func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%d\n", f.InitValue)
			return err
		})
		if err != nil {
			l.log.Errorf("Unable to initialise track file %s: %v", f.Name, err)
		}
	}
}
