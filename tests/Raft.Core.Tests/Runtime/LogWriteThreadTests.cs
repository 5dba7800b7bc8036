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
}
