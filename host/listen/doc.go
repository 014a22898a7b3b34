// Package listen turns --bind values into listening sockets and carries them
// across process boundaries.
//
// Bind forms (gunicorn's, see Parse):
//
//	HOST:PORT       127.0.0.1:8000, localhost:8000, 0.0.0.0:80
//	[IPV6]:PORT     [::]:8000 (all interfaces, dual-stack), [::1]:8000
//	:PORT           all interfaces
//	HOST            port 8000, as in gunicorn
//	unix:PATH       a unix stream socket; unix://PATH is the same
//	fd://N          an already-listening socket inherited as file descriptor N
//
// Lifecycle across processes: the master calls Listen (or FromSystemd under
// socket activation), hands the sockets to each worker with Files (they
// become exec.Cmd.ExtraFiles, so fds 3, 4, … in the worker), and the worker
// rebuilds them with FromInherited. Only the master's listener removes a unix
// socket file on Close; inherited ones never do.
//
// Errors are one line naming the bind that failed, with the system error
// unwrapped: "bind 127.0.0.1:8000: address already in use".
package listen
