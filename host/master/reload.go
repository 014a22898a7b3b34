package master

import (
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// reloader implements --reload. It watches the directories of the files of
// interest rather than the files: editors save by writing a new file and
// renaming it over the old one, which a watch on the file would lose. Events
// are filtered by name and debounced; the loop receives the changed name.
type reloader struct {
	w    *fsnotify.Watcher
	log  *slog.Logger
	fire chan string // capacity 1: one pending reload is enough

	mu    sync.Mutex
	files map[string]bool // absolute, clean paths; guarded by mu
	dirs  map[string]bool // directories watched; guarded by mu
}

func newReloader(log *slog.Logger) (*reloader, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return &reloader{w: w, log: log, fire: make(chan string, 1),
		files: make(map[string]bool), dirs: make(map[string]bool)}, nil
}

// add starts watching path (from a worker's "watch" or --reload-extra-file).
func (r *reloader) add(path string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	dir := filepath.Dir(abs)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files[abs] {
		return
	}
	r.files[abs] = true
	if r.dirs[dir] {
		return
	}
	if err := r.w.Add(dir); err != nil {
		r.log.Warn("--reload cannot watch", "dir", dir, "err", err)
		return
	}
	r.dirs[dir] = true
}

func (r *reloader) watched(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.files[filepath.Clean(name)]
}

// run turns events into debounced reload requests until close.
func (r *reloader) run() {
	var (
		timer   *time.Timer
		timerC  <-chan time.Time
		changed string
	)
	for {
		select {
		case ev, ok := <-r.w.Events:
			if !ok {
				return
			}
			if !r.watched(ev.Name) {
				continue
			}
			changed = ev.Name
			if timer == nil {
				timer = time.NewTimer(reloadDebounce)
				timerC = timer.C
			} else {
				timer.Reset(reloadDebounce)
			}
		case err, ok := <-r.w.Errors:
			if !ok {
				return
			}
			r.log.Warn("--reload watcher", "err", err)
		case <-timerC:
			timer, timerC = nil, nil
			select {
			case r.fire <- changed:
			default: // a reload is already pending
			}
		}
	}
}

func (r *reloader) close() { r.w.Close() }
