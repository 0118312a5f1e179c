package proc

import "syscall"

// sysProcAttr makes the kernel send the child SIGTERM when this process
// dies, even by SIGKILL or the OOM killer, so a child is never left running
// without the credential endpoint it was given (prctl PR_SET_PDEATHSIG).
// SIGTERM rather than SIGKILL lets a Dagster run worker report the run as
// failed. The kernel ties the signal to the thread that started the child;
// Go never ends its threads unless a goroutine exits while locked to one,
// which nothing here does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
