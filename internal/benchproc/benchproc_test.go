package benchproc

import (
	"os"
	"os/exec"
	"testing"
	"testing/fstest"
	"time"
)

func TestTree(t *testing.T) {
	proc := fstest.MapFS{
		"1/stat":                   {Data: []byte("1 (init) S 0 1 1")},
		"10/stat":                  {Data: []byte("10 (keepalived) S 1 10 10")},
		"11/stat":                  {Data: []byte("11 (keep (alived)) S 10 10 10")},
		"12/stat":                  {Data: []byte("12 (other) S 1 12 12")},
		"10/status":                {Data: []byte("Name:\tkeepalived\nVmHWM:\t    2048 kB\nVmRSS:\t  1024 kB\n")},
		"11/status":                {Data: []byte("VmHWM:\t1024 kB\nVmRSS:\t512 kB\n")},
		"10/task/10/schedstat":     {Data: []byte("1500 20 3\n")},
		"10/task/13/schedstat":     {Data: []byte("500 20 3\n")},
		"11/task/11/schedstat":     {Data: []byte("1000 0 1\n")},
		"12/task/12/schedstat":     {Data: []byte("99999 0 1\n")},
		"12/status":                {Data: []byte("VmHWM:\t1 kB\nVmRSS:\t1 kB\n")},
		"self/task/1/schedstat":    {Data: []byte("1 0 1\n")},
		"not-a-pid/task/schedstat": {Data: []byte("x")},
	}
	u, err := Tree(proc, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{Procs: 2, CPU: 3000, HWM: 3072 << 10, RSS: 1536 << 10}
	if u != want {
		t.Errorf("Tree = %+v, want %+v", u, want)
	}
	if _, err := Tree(proc, 99); err == nil {
		t.Error("Tree of a missing process: no error")
	}
}

func TestSelf(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	time.Sleep(300 * time.Millisecond)
	u, err := Self(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.Procs < 2 || u.CPU <= 0 || u.HWM == 0 {
		t.Errorf("Self = %+v, want the test and its shell, some CPU and memory", u)
	}
	cmd.Process.Kill()
	err = cmd.Wait()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("waiting for the killed shell: %v", err)
	}
	ru, err := FromProcessState(cmd.ProcessState)
	if err != nil {
		t.Fatal(err)
	}
	if ru.CPU <= 0 || ru.MaxRSS == 0 {
		t.Errorf("rusage %+v, want some CPU and memory", ru)
	}
}
