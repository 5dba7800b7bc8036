using System.Collections.Concurrent;

namespace Raft.Core.Runtime;

// One thread of a node's own that runs its log appends. A log store may make an append durable on the calling thread
// (the FASTER store calls fdatasync there, to spare two thread-pool hops per append); on a thread-pool thread that
// fsync would hold, for its whole duration, one of the few pool threads (two on a 2-core machine) that the transport,
// the applier and the host's own work all queue behind. Tasks run one at a time, in the order they were queued.
internal sealed class LogWriteThread : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> _tasks = new(new ConcurrentQueue<Task>());
    private readonly Thread _thread;
    private readonly TimeSpan? _slice;
    private readonly TaskCompletionSource<bool> _sliceRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // slice: the time slice the thread asks the scheduler for (RaftNodeOptions.LogWriteThreadSlice), or null.
    public LogWriteThread(string nodeId, TimeSpan? slice = null)
    {
        _slice = slice;
        _thread = new Thread(Run) { IsBackground = true, Name = $"raft-log-{nodeId}" };
        _thread.Start();
    }

    // Whether the thread's request for its slice was accepted (false when none was asked for or where not offered).
    public Task<bool> SliceRequested => _sliceRequested.Task;

    public override int MaximumConcurrencyLevel => 1;

    // Lets the thread finish what was queued, then end.
    public void Dispose() => _tasks.CompleteAdding();

    protected override void QueueTask(Task task) => _tasks.Add(task);

    // Inline only on the thread itself: elsewhere the task would run beside the thread's own.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        !taskWasPreviouslyQueued && Thread.CurrentThread == _thread && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _tasks.ToArray();

    private void Run()
    {
        // A follower's durable write is handed to this thread while the cores are busy with the host's work (an Orleans
        // silo's, say); with the default slice the woken thread waits for the running one's slice to end (measured in
        // docs/benchmarks.md, session 20).
        _sliceRequested.SetResult(_slice is { } slice && ThreadScheduling.TryRequestSlice(slice));
        foreach (var task in _tasks.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }

        _tasks.Dispose();
    }
}
