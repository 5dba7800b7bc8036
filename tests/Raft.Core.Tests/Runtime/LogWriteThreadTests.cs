using System.Diagnostics;
using Raft.Core.Runtime;

namespace Raft.Core.Tests.Runtime;

// The node's own thread for log appends: one task at a time, in queue order, none lost between a wake-up and a wait.
public sealed class LogWriteThreadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Tasks_FromManyProducers_RunOneAtATime_InEachProducersOrder_OnTheThreadItself()
    {
        using var thread = new LogWriteThread("n1");
        var running = 0;
        var overlaps = 0;
        var seen = new List<(int Producer, int Sequence)>();
        var threads = new HashSet<int>();

        var producers = Enumerable.Range(0, 4).Select(producer => Task.Run(() => Enumerable.Range(0, 2_000).Select(sequence =>
            Task.Factory.StartNew(
                () =>
                {
                    if (Interlocked.Increment(ref running) != 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    seen.Add((producer, sequence));
                    threads.Add(Environment.CurrentManagedThreadId);
                    Interlocked.Decrement(ref running);
                },
                CancellationToken.None,
                TaskCreationOptions.None,
                thread)).ToArray())).ToArray();
        var tasks = (await Task.WhenAll(producers)).SelectMany(t => t).ToArray();
        await Task.WhenAll(tasks).WaitAsync(Patience);

        Assert.Equal(0, overlaps);
        Assert.Equal(8_000, seen.Count);
        Assert.Single(threads);
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads.Single());
        foreach (var producer in seen.GroupBy(s => s.Producer))
        {
            Assert.Equal(Enumerable.Range(0, 2_000), producer.Select(s => s.Sequence));
        }
    }

    [Fact]
    public async Task ATaskQueuedAsTheThreadRunsOutOfWork_Runs()
    {
        // Between finding the queue empty and going to sleep, the thread must not miss a task queued meanwhile. Each task
        // lets the producer (spinning on another thread) queue the next one and then spins a little itself, a different
        // while each time, so that the next one arrives just before, during or just after the thread's way from the end
        // of this task to its sleep. (A hand-made wait without a second look at the queue after resetting its signal
        // fails this within a few thousand tasks.)
        using var thread = new LogWriteThread("n1");
        var random = new Random(7);
        var done = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var tail = random.Next(0, 64);
            var task = Task.Factory.StartNew(
                () =>
                {
                    Volatile.Write(ref done, 1);
                    Thread.SpinWait(tail);
                },
                CancellationToken.None,
                TaskCreationOptions.None,
                thread);
            var waiting = Stopwatch.StartNew();
            while (Volatile.Read(ref done) == 0)
            {
                Assert.True(waiting.Elapsed < Patience, $"task {i} did not run: the thread slept through its wake-up");
                Thread.SpinWait(1);
            }

            Volatile.Write(ref done, 0);
            if (i % 1_000 == 999)
            {
                // Now and then the thread is left to fall asleep for real.
                await task.WaitAsync(Patience);
            }
        }

        await Task.Factory.StartNew(() => { }, CancellationToken.None, TaskCreationOptions.None, thread).WaitAsync(Patience);
    }

    [Fact]
    public async Task Dispose_LetsWhatWasQueuedRun_AndRefusesWhatComesAfter()
    {
        var thread = new LogWriteThread("n1");
        using var gate = new ManualResetEventSlim();
        var first = Task.Factory.StartNew(() => gate.Wait(Patience), CancellationToken.None, TaskCreationOptions.None, thread);
        var queued = Enumerable.Range(0, 100)
            .Select(_ => Task.Factory.StartNew(() => { }, CancellationToken.None, TaskCreationOptions.None, thread))
            .ToArray();

        thread.Dispose();
        var late = new Task(() => { });
        var refused = Assert.Throws<TaskSchedulerException>(() => late.Start(thread));
        gate.Set();

        Assert.IsType<InvalidOperationException>(refused.InnerException);
        await Task.WhenAll(queued.Prepend(first)).WaitAsync(Patience);
    }

    // Linux 6.12 and later (EEVDF) take a thread's own slice from sched_setattr and report it back; older kernels and
    // other systems offer nothing to check, and the thread works the same.
    private static bool KernelTakesSlices =>
        OperatingSystem.IsLinux() && Environment.OSVersion.Version >= new Version(6, 12)
        && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture is System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.Arm64;

    [Fact]
    public async Task AThreadGivenASlice_AsksTheSchedulerForIt_AndRunsWithIt()
    {
        using var thread = new LogWriteThread("n1", TimeSpan.FromMicroseconds(100));

        var granted = await thread.SliceRequested.WaitAsync(Patience);
        var slice = await OnThread(thread, ThreadScheduling.CurrentSlice);

        if (KernelTakesSlices)
        {
            Assert.True(granted);
            Assert.Equal(TimeSpan.FromMicroseconds(100), slice);
        }
    }

    [Fact]
    public async Task AThreadWithoutASlice_KeepsTheSchedulersDefault()
    {
        using var thread = new LogWriteThread("n1");

        var granted = await thread.SliceRequested.WaitAsync(Patience);
        var slice = await OnThread(thread, ThreadScheduling.CurrentSlice);

        Assert.False(granted);
        Assert.Equal(await Task.Run(ThreadScheduling.CurrentSlice), slice);
        if (KernelTakesSlices)
        {
            Assert.NotEqual(TimeSpan.FromMicroseconds(100), slice);
        }
    }

    private static Task<T> OnThread<T>(LogWriteThread thread, Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.None, thread).WaitAsync(Patience);
}
