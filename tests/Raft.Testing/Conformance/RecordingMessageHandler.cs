using System.Collections.Concurrent;
using Raft.Core.Messages;
using Raft.Core.Transport;

namespace Raft.Testing.Conformance;

/// <summary>An <see cref="IRaftMessageHandler"/> that records what it is given, and can be made to block to play a stuck peer.</summary>
public sealed class RecordingMessageHandler : IRaftMessageHandler, IDisposable
{
    private readonly ConcurrentQueue<Message> _messages = new();
    private readonly ConcurrentQueue<string> _unreachable = new();
    private readonly ManualResetEventSlim _gate = new(initialState: true);
    private int _blockedReceivers;

    /// <summary>The messages received so far, in arrival order.</summary>
    public IReadOnlyList<Message> Messages => [.. _messages];

    /// <summary>The number of messages received so far.</summary>
    public int MessageCount => _messages.Count;

    /// <summary>The peers reported unreachable so far, in report order (with repeats).</summary>
    public IReadOnlyList<string> Unreachable => [.. _unreachable];

    /// <summary>The number of <see cref="Receive"/> calls currently held by <see cref="Block"/>.</summary>
    public int BlockedReceivers => Volatile.Read(ref _blockedReceivers);

    /// <summary>From now on <see cref="Receive"/> blocks its caller (after recording the message) until <see cref="Release"/>.</summary>
    public void Block() => _gate.Reset();

    /// <summary>Lets blocked and future <see cref="Receive"/> calls return.</summary>
    public void Release() => _gate.Set();

    /// <inheritdoc />
    public void Receive(Message message)
    {
        _messages.Enqueue(message);
        if (!_gate.IsSet)
        {
            Interlocked.Increment(ref _blockedReceivers);
            _gate.Wait();
            Interlocked.Decrement(ref _blockedReceivers);
        }
    }

    /// <inheritdoc />
    public void ReportUnreachable(string nodeId) => _unreachable.Enqueue(nodeId);

    /// <summary>Snapshots received in full, with their data, in arrival order.</summary>
    public ConcurrentQueue<(Message Message, byte[] Data)> Snapshots { get; } = new();

    /// <summary>When set, <see cref="ReceiveSnapshotAsync"/> reads part of the data, then fails with this exception (a store that broke).</summary>
    public Exception? SnapshotFailure { get; set; }

    /// <inheritdoc />
    public async Task ReceiveSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (SnapshotFailure is { } failure)
        {
            await data.ReadAsync(new byte[16], cancellationToken).ConfigureAwait(false);
            throw failure;
        }

        using var buffer = new MemoryStream();
        await data.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        Snapshots.Enqueue((message, buffer.ToArray()));
    }

    /// <summary>Waits until at least <paramref name="count"/> messages arrived.</summary>
    /// <param name="count">The number of messages to wait for.</param>
    /// <param name="timeout">The bound; <see cref="Eventually.DefaultTimeout"/> when null.</param>
    /// <returns>A task that completes once they arrived.</returns>
    public Task WaitForMessagesAsync(int count, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => _messages.Count >= count, $"{count} messages (got {_messages.Count})", timeout);

    /// <summary>Waits until <paramref name="nodeId"/> was reported unreachable.</summary>
    /// <param name="nodeId">The peer.</param>
    /// <param name="timeout">The bound; <see cref="Eventually.DefaultTimeout"/> when null.</param>
    /// <returns>A task that completes once it was reported.</returns>
    public Task WaitForUnreachableAsync(string nodeId, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => _unreachable.Contains(nodeId), $"an unreachable report for '{nodeId}'", timeout);

    /// <inheritdoc />
    public void Dispose()
    {
        // Not disposed: a delivery thread may still be inside Wait; setting is enough to free it.
        _gate.Set();
    }
}
