using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Core.Tests.Runtime.Fakes;

// A log store whose appends complete when the test says so (or at once), recording "append:start" and "append:done".
public sealed class ScriptedLogStore(CallLog calls) : ILogStore
{
    private readonly InMemoryLogStore _inner = new();

    public TaskCompletionSource? PendingAppend { get; set; }

    public Exception? FailWith { get; set; }

    public bool ThrowSynchronously { get; set; }

    // A held append blocks the calling thread until released, as a store that runs its fdatasync on the caller's
    // thread does (the FASTER store), instead of returning a pending task.
    public bool BlockCallingThread { get; set; }

    // The thread each append was called on: whether it was a thread-pool thread, and its name.
    public System.Collections.Concurrent.ConcurrentQueue<(bool ThreadPool, string? Name)> AppendThreads { get; } = new();

    public long FirstIndex => _inner.FirstIndex;

    public ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default) =>
        _inner.CompactAsync(throughIndex, cancellationToken);

    public ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default)
    {
        calls.Add($"reset:{snapshotIndex}");
        return _inner.ResetAsync(snapshotIndex, cancellationToken);
    }

    public long LastIndex => _inner.LastIndex;

    public ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default)
    {
        calls.Add("append:start");
        AppendThreads.Enqueue((Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name));
        if (ThrowSynchronously && FailWith is not null)
        {
            throw FailWith;
        }

        if (BlockCallingThread && PendingAppend is { } blocking)
        {
            blocking.Task.Wait(cancellationToken);
            return CompleteNow(entries);
        }

        return PendingAppend is { } pending ? new ValueTask(CompleteLaterAsync(pending, entries)) : CompleteNow(entries);
    }

    public ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(fromIndex, toIndexInclusive, cancellationToken);

    private async Task CompleteLaterAsync(TaskCompletionSource pending, IReadOnlyList<Entry> entries)
    {
        await pending.Task;
        await CompleteNow(entries);
    }

    private ValueTask CompleteNow(IReadOnlyList<Entry> entries)
    {
        if (FailWith is not null)
        {
            calls.Add("append:failed");
            return ValueTask.FromException(FailWith);
        }

        calls.Add("append:done");
        return _inner.AppendAsync(entries);
    }
}
