package listen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Addr
		str  string
	}{
		{"127.0.0.1:8000", Addr{Network: TCP, Address: "127.0.0.1:8000"}, "127.0.0.1:8000"},
		{"localhost:9000", Addr{Network: TCP, Address: "localhost:9000"}, "localhost:9000"},
		{"0.0.0.0:80", Addr{Network: TCP, Address: "0.0.0.0:80"}, "0.0.0.0:80"},
		{":8080", Addr{Network: TCP, Address: ":8080"}, ":8080"},
		{"[::]:8000", Addr{Network: TCP, Address: "[::]:8000"}, "[::]:8000"},
		{"[::1]:8001", Addr{Network: TCP, Address: "[::1]:8001"}, "[::1]:8001"},
		{"[::1]", Addr{Network: TCP, Address: "[::1]:8000"}, "[::1]:8000"},
		{"example.com", Addr{Network: TCP, Address: "example.com:8000"}, "example.com:8000"},
		{"tcp://127.0.0.1:5000", Addr{Network: TCP, Address: "127.0.0.1:5000"}, "127.0.0.1:5000"},
		{" 127.0.0.1:1 ", Addr{Network: TCP, Address: "127.0.0.1:1"}, "127.0.0.1:1"},
		{"unix:/run/app.sock", Addr{Network: Unix, Address: "/run/app.sock"}, "unix:/run/app.sock"},
		{"unix:///run/app.sock", Addr{Network: Unix, Address: "/run/app.sock"}, "unix:/run/app.sock"},
		{"unix:relative.sock", Addr{Network: Unix, Address: "relative.sock"}, "unix:relative.sock"},
		{"fd://3", Addr{Network: FD, FD: 3}, "fd://3"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.str, got.String())
			again, err := Parse(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, again, "String must round-trip")
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"":                `bind "": empty address`,
		"unix:":           `bind "unix:": unix: needs a socket path, like unix:/run/app.sock`,
		"fd://x":          `bind "fd://x": fd:// needs a file descriptor number, like fd://3`,
		"fd://-1":         `bind "fd://-1": fd:// needs a file descriptor number, like fd://3`,
		"::1:8000":        `bind "::1:8000": an IPv6 address needs brackets, like [::1]:8000`,
		"[::1:8000":       `bind "[::1:8000": missing ']' after the IPv6 address`,
		"[::1]8000":       `bind "[::1]8000": expected ':PORT' after ']'`,
		"[nothost]:80":    `bind "[nothost]:80": "nothost" is not an IPv6 address`,
		"127.0.0.1:http":  `bind "127.0.0.1:http": port "http" is not a number from 0 to 65535`,
		"127.0.0.1:65536": `bind "127.0.0.1:65536": port "65536" is not a number from 0 to 65535`,
		"127.0.0.1:":      `bind "127.0.0.1:": port "" is not a number from 0 to 65535`,
	}
	for in, want := range tests {
		_, err := Parse(in)
		assert.EqualError(t, err, want, "Parse(%q)", in)
	}
}

// roundTrip dials ln's address, sends a line, and checks that ln accepts the
// connection and reads that line.
func roundTrip(t *testing.T, ln net.Listener) {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		// Skip empty connections, such as Listen's probe of a live unix socket.
		for {
			c, err := ln.Accept()
			if err != nil {
				done <- "accept: " + err.Error()
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if line != "" {
				done <- line
				return
			}
		}
	}()
	c, err := net.DialTimeout(ln.Addr().Network(), ln.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "ping\n")
	require.NoError(t, err)
	select {
	case got := <-done:
		assert.Equal(t, "ping\n", got)
	case <-time.After(5 * time.Second):
		t.Fatal("listener did not accept")
	}
}

func TestListenTCP(t *testing.T) {
	lns, err := Listen([]string{"127.0.0.1:0", "127.0.0.1:0"})
	require.NoError(t, err)
	defer closeAll(lns)
	require.Len(t, lns, 2)
	assert.NotEqual(t, lns[0].Addr().String(), lns[1].Addr().String())
	for _, ln := range lns {
		roundTrip(t, ln)
	}
}

func TestListenIPv6Loopback(t *testing.T) {
	probe, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	probe.Close()
	lns, err := Listen([]string{"[::1]:0"})
	require.NoError(t, err)
	defer closeAll(lns)
	assert.Equal(t, "::1", lns[0].Addr().(*net.TCPAddr).IP.String())
	roundTrip(t, lns[0])
}

func TestListenAddressInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	addr := busy.Addr().String()

	_, err = Listen([]string{addr})
	require.Error(t, err)
	assert.Equal(t, "bind "+addr+": address already in use", err.Error())
	assert.ErrorIs(t, err, syscall.EADDRINUSE)
	var be *BindError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, addr, be.Bind)
}

func TestListenClosesEarlierOnFailure(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "a.sock")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	_, err = Listen([]string{"unix:" + sock, busy.Addr().String()})
	require.Error(t, err)
	// The first listener was closed, which removes its socket file.
	_, statErr := os.Stat(sock)
	assert.ErrorIs(t, statErr, fs.ErrNotExist)
}

func TestListenBadBind(t *testing.T) {
	_, err := Listen([]string{"127.0.0.1:99999"})
	assert.EqualError(t, err, `bind "127.0.0.1:99999": port "99999" is not a number from 0 to 65535`)
}

func TestListenUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "app.sock")
	for _, form := range []string{"unix:" + sock, "unix://" + sock} {
		t.Run(form, func(t *testing.T) {
			lns, err := Listen([]string{form})
			require.NoError(t, err)
			fi, err := os.Stat(sock)
			require.NoError(t, err)
			assert.Equal(t, fs.ModeSocket|SocketMode, fi.Mode()&(fs.ModeSocket|fs.ModePerm))
			roundTrip(t, lns[0])

			require.NoError(t, lns[0].Close())
			_, err = os.Stat(sock)
			assert.ErrorIs(t, err, fs.ErrNotExist, "Close removes the socket file")
		})
	}
}

func TestListenUnixStaleSocketRemoved(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "stale.sock")
	old, err := net.Listen("unix", sock)
	require.NoError(t, err)
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, old.Close()) // a crashed server's leftover file
	_, err = os.Stat(sock)
	require.NoError(t, err)

	lns, err := Listen([]string{"unix:" + sock})
	require.NoError(t, err)
	defer closeAll(lns)
	roundTrip(t, lns[0])
}

func TestListenUnixLiveSocketKept(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "live.sock")
	live, err := net.Listen("unix", sock)
	require.NoError(t, err)
	defer live.Close()

	_, err = Listen([]string{"unix:" + sock})
	assert.EqualError(t, err, "bind unix:"+sock+": address already in use")
	roundTrip(t, live) // still served by its owner
}

func TestListenUnixNotASocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(path, []byte("data"), 0o600))
	_, err := Listen([]string{"unix:" + path})
	assert.EqualError(t, err, "bind unix:"+path+": file exists and is not a socket")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "data", string(data), "a regular file is never removed")
}

func TestListenUnixMissingDir(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nodir", "x.sock")
	_, err := Listen([]string{"unix:" + sock})
	assert.EqualError(t, err, "bind unix:"+sock+": no such file or directory")
}

// dupTo duplicates f's descriptor onto fd (closing whatever was there).
func dupTo(t *testing.T, f *os.File, fd int) {
	t.Helper()
	require.NoError(t, syscall.Dup3(int(f.Fd()), fd, 0))
}

func TestFilesFromInherited(t *testing.T) {
	lns, err := Listen([]string{"127.0.0.1:0", "unix:" + filepath.Join(t.TempDir(), "s")})
	require.NoError(t, err)
	defer closeAll(lns)
	files, err := Files(lns)
	require.NoError(t, err)
	require.Len(t, files, 2)
	const first = 200 // as a worker would see them at 3, 4
	for i, f := range files {
		dupTo(t, f, first+i)
		f.Close()
	}

	inh, err := FromInherited(2, first)
	require.NoError(t, err)
	defer closeAll(inh)
	assert.Equal(t, lns[0].Addr().String(), inh[0].Addr().String())
	assert.Equal(t, lns[1].Addr().String(), inh[1].Addr().String())
	// The inherited descriptors were consumed.
	var st syscall.Stat_t
	assert.ErrorIs(t, syscall.Fstat(first, &st), syscall.EBADF)

	// Only the inherited copies accept once the originals are closed.
	unixPath := lns[1].Addr().String()
	lns[0].Close()
	lns[1].(*net.UnixListener).SetUnlinkOnClose(false)
	lns[1].Close()
	for _, ln := range inh {
		roundTrip(t, ln)
	}
	// Closing an inherited unix listener leaves the file (the master owns it).
	inh[1].Close()
	_, err = os.Stat(unixPath)
	assert.NoError(t, err)
}

func TestFromInheritedBadFD(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notsock")
	require.NoError(t, err)
	dupTo(t, f, 210)
	f.Close()
	_, err = FromInherited(1, 210)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bind fd://210: ")
}

func TestListenFD(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	dupTo(t, f, 220)
	f.Close()
	ln.Close()

	lns, err := Listen([]string{"fd://220"})
	require.NoError(t, err)
	defer closeAll(lns)
	roundTrip(t, lns[0])
}

func TestFilesRejectsListenerWithoutFD(t *testing.T) {
	_, err := Files([]net.Listener{fakeListener{}})
	assert.ErrorContains(t, err, "has no file descriptor")
}

type fakeListener struct{ net.Listener }

func (fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

func TestSystemdCount(t *testing.T) {
	tests := []struct {
		pid, fds string
		want     int
		err      string
	}{
		{"", "", 0, ""},
		{"42", "", 0, ""},
		{"42", "2", 2, ""},
		{"", "1", 1, ""},   // LISTEN_PID is optional
		{"41", "2", 0, ""}, // meant for another process
		{"x", "2", 0, `systemd socket activation: LISTEN_PID="x" is not a number`},
		{"42", "two", 0, `systemd socket activation: LISTEN_FDS="two" is not a count`},
	}
	for _, tt := range tests {
		n, err := systemdCount(tt.pid, tt.fds, 42)
		if tt.err != "" {
			assert.EqualError(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, n, "pid=%q fds=%q", tt.pid, tt.fds)
	}
}

func TestFromSystemdNotActivated(t *testing.T) {
	t.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()+1))
	t.Setenv("LISTEN_FDS", "1")
	t.Setenv("LISTEN_FDNAMES", "web")
	lns, err := FromSystemd()
	require.NoError(t, err)
	assert.Nil(t, lns)
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		_, set := os.LookupEnv(v)
		assert.False(t, set, "%s must be unset", v)
	}
}

// The child-process tests re-run this test binary with GOHOST_LISTEN_CHILD
// set; the child serves one connection on what it inherited at fd 3.
func TestMain(m *testing.M) {
	if mode := os.Getenv("GOHOST_LISTEN_CHILD"); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

func child(mode string) int {
	var lns []net.Listener
	var err error
	switch mode {
	case "inherited":
		lns, err = FromInherited(1, 3)
	case "systemd":
		lns, err = FromSystemd()
		if os.Getenv("LISTEN_FDS") != "" {
			err = errors.New("LISTEN_FDS still set")
		}
	}
	if err != nil || len(lns) != 1 {
		fmt.Println("child error:", err, len(lns))
		return 1
	}
	c, err := lns[0].Accept()
	if err != nil {
		return 1
	}
	fmt.Fprintf(c, "hello from %d\n", os.Getpid())
	c.Close()
	return 0
}

func TestChildProcess(t *testing.T) {
	for _, mode := range []string{"inherited", "systemd"} {
		t.Run(mode, func(t *testing.T) {
			lns, err := Listen([]string{"127.0.0.1:0"})
			require.NoError(t, err)
			defer closeAll(lns)
			files, err := Files(lns)
			require.NoError(t, err)

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "GOHOST_LISTEN_CHILD="+mode, "LISTEN_FDS=1")
			cmd.ExtraFiles = files
			out := &lockedBuffer{}
			cmd.Stdout = out
			require.NoError(t, cmd.Start())
			closeFiles(files)
			addr := lns[0].Addr().String()
			lns[0].Close() // only the child can accept now

			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			require.NoError(t, err)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			require.NoError(t, cmd.Wait(), "child output: %s", out)
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("hello from %d\n", cmd.Process.Pid), line)
		})
	}
}

type lockedBuffer struct{ b []byte }

func (l *lockedBuffer) Write(p []byte) (int, error) { l.b = append(l.b, p...); return len(p), nil }
func (l *lockedBuffer) String() string              { return string(l.b) }
