package listen

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// SystemdFirstFD is where systemd socket activation passes sockets
// (SD_LISTEN_FDS_START).
const SystemdFirstFD = 3

// FromSystemd returns the sockets passed by systemd socket activation, in
// the unit's ListenStream= order, or nil, nil when the process was not
// socket-activated: LISTEN_FDS unset, or LISTEN_PID naming another process
// (the variables were inherited from a parent). It unsets LISTEN_PID,
// LISTEN_FDS and LISTEN_FDNAMES either way, as sd_listen_fds(unset=1) does,
// so children never mistake the sockets for theirs.
func FromSystemd() ([]net.Listener, error) {
	defer func() {
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
	}()
	n, err := systemdCount(os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getpid())
	if err != nil || n == 0 {
		return nil, err
	}
	return FromInherited(n, SystemdFirstFD)
}

// systemdCount checks the activation variables and returns how many sockets
// are this process's.
func systemdCount(pidVar, fdsVar string, pid int) (int, error) {
	if fdsVar == "" {
		return 0, nil
	}
	if pidVar != "" {
		p, err := strconv.Atoi(pidVar)
		if err != nil {
			return 0, fmt.Errorf("systemd socket activation: LISTEN_PID=%q is not a number", pidVar)
		}
		if p != pid {
			return 0, nil
		}
	}
	n, err := strconv.Atoi(fdsVar)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("systemd socket activation: LISTEN_FDS=%q is not a count", fdsVar)
	}
	return n, nil
}
