using System.Runtime.InteropServices;

namespace Raft.Core.Runtime;

// A scheduler hint for the node's own latency-critical thread (LogWriteThread). Linux 6.12 and later (the EEVDF
// scheduler) let a thread ask for a shorter time slice through sched_setattr's sched_runtime, unprivileged and within
// its scheduling class: a thread woken with a short slice gets an early virtual deadline and so preempts the thread
// running on a busy core instead of waiting for that thread's slice (0.7-3 ms by core count) to end. Older kernels
// accept and ignore the field for ordinary threads; other systems are left alone. Best effort: a refusal (a seccomp
// profile, say) changes nothing but the latency.
internal static class ThreadScheduling
{
    // sched_setattr / sched_getattr: not in libc's headers everywhere, so called by number.
    private static readonly (long Set, long Get) Syscalls = !OperatingSystem.IsLinux() ? (0, 0) : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => (314, 315),
        Architecture.Arm64 => (274, 275),
        _ => (0, 0),
    };

    // struct sched_attr as of Linux 4.13 (SCHED_ATTR_SIZE_VER1, 56 bytes).
    [StructLayout(LayoutKind.Sequential)]
    private struct SchedAttr
    {
        public uint Size;
        public uint Policy;
        public ulong Flags;
        public int Nice;
        public uint Priority;
        public ulong Runtime;
        public ulong Deadline;
        public ulong Period;
        public uint UtilMin;
        public uint UtilMax;
    }

    /// <summary>
    /// Asks the scheduler to give the calling thread time slices of <paramref name="slice"/>, keeping its policy and
    /// nice value. Returns whether the kernel accepted the request (false where it is not offered or was refused).
    /// </summary>
    public static bool TryRequestSlice(TimeSpan slice)
    {
        if (Syscalls.Set == 0 || !TryGetAttributes(out var attr))
        {
            return false;
        }

        // Only ordinary threads (SCHED_OTHER 0, SCHED_BATCH 3): the field means something else to real-time ones.
        if (attr.Policy is not (0 or 3))
        {
            return false;
        }

        attr.Size = (uint)Marshal.SizeOf<SchedAttr>();
        attr.Flags = 0;
        attr.Runtime = (ulong)(slice.Ticks * 100);
        return SchedSetAttr(Syscalls.Set, 0, ref attr, 0) == 0;
    }

    /// <summary>
    /// The calling thread's time slice as the kernel reports it, or null where it does not (other systems; before Linux
    /// 6.12 an ordinary thread reports none).
    /// </summary>
    public static TimeSpan? CurrentSlice() =>
        TryGetAttributes(out var attr) && attr.Runtime > 0 ? TimeSpan.FromTicks((long)(attr.Runtime / 100)) : null;

    private static bool TryGetAttributes(out SchedAttr attr)
    {
        attr = default;
        return Syscalls.Get != 0 && SchedGetAttr(Syscalls.Get, 0, ref attr, (uint)Marshal.SizeOf<SchedAttr>(), 0) == 0;
    }

    // DllImport rather than LibraryImport: the generated marshalling needs unsafe code, which this assembly does not
    // allow; a blittable struct by reference needs no marshalling either way.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long SchedSetAttr(long number, long pid, ref SchedAttr attr, long flags);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long SchedGetAttr(long number, long pid, ref SchedAttr attr, uint size, long flags);
#pragma warning restore SYSLIB1054
}
