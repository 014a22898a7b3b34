// Package master is gohost's process model: the master process that spawns,
// supervises, reloads and recycles the worker processes, and the worker's end
// of the control socket.
//
// # Master
//
// Run is the master (Go only: no Python is loaded in it). It re-executes the
// gohost binary (Options.WorkerCommand) once per worker with the listening
// sockets as fds 3 … 3+L-1 and its end of a control socket as fd 3+L. All
// workers share each listening socket, so there is one accept queue: a
// worker that stops accepting leaves queued connections to the others.
//
// Like gunicorn's arbiter, signal handlers only enqueue; one goroutine runs a
// loop that handles the next signal or control message, then reaps exited
// workers, then enforces deadlines (murder: boot timeout, heartbeat watchdog
// with SIGABRT then SIGKILL, stop deadlines), then manages the worker set
// (spawn with crash-loop backoff, TTIN/TTOU, recycling, generations). Every
// worker field is owned by that goroutine.
//
// Workers come in generations. The first boot and every reload (HUP,
// --reload) start a new generation: one worker first (the canary: a broken
// app prints one traceback, not one per worker), then the rest; when all are
// ready the generation is promoted and the previous one is stopped
// gracefully. If the new generation cannot boot, the old one keeps serving.
// On the first boot, a worker exiting with ExitAppLoadError or
// ExitWorkerBootError makes Run return that code instead of respawning.
//
// Recycling (max-requests, max-worker-memory) marks a worker retiring: a
// replacement is spawned and the retiring worker is sent TERM only once the
// replacement is ready, so the number of accepting workers never drops.
//
// # Worker
//
// A worker calls WorkerFromEnv first: ok reports whether the process is a
// worker; the listeners and the Control are set up from GOHOST_WORKER_ID,
// GOHOST_LISTEN_FDS, GOHOST_CONTROL_FD and GOHOST_MAX_REQUESTS. Then it loads
// the app (Watch the imported files under --reload; exit ExitAppLoadError on
// failure), calls Ready, sends a Heartbeat every second (RunHeartbeat), calls
// Recycle after MaxRequests requests, and handles TERM (graceful stop), QUIT
// and INT (fast stop) and USR1 (reopen logs). MasterGone closes when the
// master died; the worker should then stop gracefully.
//
// docs/PROCESS.md describes the protocol, the signals and the operations.
package master
