using System.Diagnostics;
using System.Text;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Transport;
using Xunit;

namespace Raft.Testing.Conformance;

/// <summary>
/// The <see cref="IRaftTransport"/> contract as tests: every transport implementation inherits this class and passes it.
/// </summary>
/// <remarks>
/// <see cref="CreateTransportsAsync"/> returns one unstarted transport per node id, all able to reach each other; the
/// suite starts them with recording handlers and disposes them at the end of each test. A node id the derived class was
/// not asked for is a peer that does not exist. Waits are bounded by <see cref="Patience"/>; nothing asserts on timing.
/// </remarks>
public abstract class TransportConformance
{
    /// <summary>How long to wait for something that should happen; generous, because a loaded machine is slow.</summary>
    protected virtual TimeSpan Patience => Eventually.DefaultTimeout;

    /// <summary>Creates connected transports, one per id, in the same order, not yet started.</summary>
    /// <param name="nodeIds">The node ids.</param>
    /// <returns>The transports.</returns>
    protected abstract ValueTask<IReadOnlyList<IRaftTransport>> CreateTransportsAsync(IReadOnlyList<string> nodeIds);

    /// <summary>A message of <paramref name="type"/> from <paramref name="from"/> to <paramref name="to"/>, numbered by <paramref name="index"/>.</summary>
    /// <param name="from">The sender.</param>
    /// <param name="to">The receiver.</param>
    /// <param name="index">Goes into <see cref="Message.Index"/>, to check order.</param>
    /// <param name="type">The message type.</param>
    /// <returns>The message.</returns>
    protected static Message NewMessage(string from, string to, long index, MessageType type = MessageType.Heartbeat) =>
        new() { Type = type, From = from, To = to, Term = 1, Index = index };

    [Fact]
    public async Task Send_ToAPeer_DeliversTheMessageWithEveryField()
    {
        await using var cluster = await StartAsync("a", "b");
        var message = new Message
        {
            Type = MessageType.AppendEntries,
            From = "a",
            To = "b",
            Term = 5,
            LogTerm = 4,
            Index = 10,
            Commit = 9,
            Reject = false,
            RejectHint = 0,
            Context = Encoding.UTF8.GetBytes("ctx"),
            Entries =
            [
                new Entry(11, 5, EntryType.Normal, Encoding.UTF8.GetBytes("set x=1")),
                new Entry(12, 5, EntryType.NoOp, ReadOnlyMemory<byte>.Empty),
                new Entry(13, 5, EntryType.ConfigChange, new byte[] { 0, 255 }),
            ],
        };

        cluster.Transport("a").Send(message);

        await cluster.Handler("b").WaitForMessagesAsync(1, Patience);
        RaftAssert.MessageEqual(message, Assert.Single(cluster.Handler("b").Messages));
        Assert.Empty(cluster.Handler("a").Messages);
    }

    [Fact]
    public async Task Send_EveryMessageType_RoundTrips()
    {
        await using var cluster = await StartAsync("a", "b");
        var types = Enum.GetValues<MessageType>();
        var sent = types.Select((type, i) => new Message
        {
            Type = type,
            From = "a",
            To = "b",
            Term = 100 + i,
            LogTerm = 50 + i,
            Index = 1000 + i,
            Commit = 900 + i,
            Reject = i % 2 == 1,
            RejectHint = i % 2 == 1 ? 7 + i : 0,
            Context = i % 3 == 0 ? ReadOnlyMemory<byte>.Empty : new byte[] { (byte)i },
        }).ToArray();

        foreach (var message in sent)
        {
            cluster.Transport("a").Send(message);
        }

        await cluster.Handler("b").WaitForMessagesAsync(sent.Length, Patience);
        var received = cluster.Handler("b").Messages;
        for (var i = 0; i < sent.Length; i++)
        {
            RaftAssert.MessageEqual(sent[i], received[i]);
        }
    }

    [Fact]
    public async Task Send_ALargeAppend_IsDelivered()
    {
        await using var cluster = await StartAsync("a", "b");
        var payload = new byte[512 * 1024];
        new Random(7).NextBytes(payload);
        var message = NewMessage("a", "b", 1, MessageType.AppendEntries) with
        {
            Entries = [new Entry(1, 1, EntryType.Normal, payload), new Entry(2, 1, EntryType.Normal, payload)],
        };

        cluster.Transport("a").Send(message);

        await cluster.Handler("b").WaitForMessagesAsync(1, Patience);
        RaftAssert.MessageEqual(message, cluster.Handler("b").Messages[0]);
    }

    [Fact]
    public async Task Send_ManyMessagesToOnePeer_ArriveInTheOrderSent()
    {
        await using var cluster = await StartAsync("a", "b");
        const int count = 1000;

        for (var i = 1; i <= count; i++)
        {
            cluster.Transport("a").Send(NewMessage("a", "b", i));
        }

        await cluster.Handler("b").WaitForMessagesAsync(count, Patience);
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), cluster.Handler("b").Messages.Select(m => m.Index));
    }

    [Fact]
    public async Task Send_FromTwoPeersAtOnce_KeepsEachSendersOrder()
    {
        await using var cluster = await StartAsync("a", "b", "c");
        const int count = 500;

        await Task.WhenAll(
            Task.Run(() => SendMany("a")),
            Task.Run(() => SendMany("c")));

        await cluster.Handler("b").WaitForMessagesAsync(2 * count, Patience);
        var received = cluster.Handler("b").Messages;
        foreach (var from in new[] { "a", "c" })
        {
            Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), received.Where(m => m.From == from).Select(m => m.Index));
        }

        void SendMany(string from)
        {
            for (var i = 1; i <= count; i++)
            {
                cluster.Transport(from).Send(NewMessage(from, "b", i));
            }
        }
    }

    [Fact]
    public async Task Send_BothWays_EachSideReceivesOnlyItsOwnMessages()
    {
        await using var cluster = await StartAsync("a", "b", "c");

        cluster.Transport("a").Send(NewMessage("a", "b", 1));
        cluster.Transport("b").Send(NewMessage("b", "a", 2));
        cluster.Transport("c").Send(NewMessage("c", "a", 3));

        await cluster.Handler("a").WaitForMessagesAsync(2, Patience);
        await cluster.Handler("b").WaitForMessagesAsync(1, Patience);
        Assert.All(cluster.Handler("a").Messages, m => Assert.Equal("a", m.To));
        Assert.Equal(new long[] { 2, 3 }, cluster.Handler("a").Messages.Select(m => m.Index).Order());
        Assert.Equal("b", Assert.Single(cluster.Handler("b").Messages).To);
        Assert.Empty(cluster.Handler("c").Messages);
    }

    [Fact]
    public async Task Send_ToAPeerThatDoesNotExist_ReturnsAndIsReportedUnreachable()
    {
        await using var cluster = await StartAsync("a", "b");

        var elapsed = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            cluster.Transport("a").Send(NewMessage("a", "ghost", i));
        }

        Assert.True(elapsed.Elapsed < Patience, "Send must queue and return, not wait for the peer.");
        await cluster.Handler("a").WaitForUnreachableAsync("ghost", Patience);
        cluster.Transport("a").Send(NewMessage("a", "b", 1));
        await cluster.Handler("b").WaitForMessagesAsync(1, Patience);
    }

    [Fact]
    public async Task Send_ToAStoppedPeer_IsReportedUnreachable()
    {
        await using var cluster = await StartAsync("a", "b", "c");
        await cluster.StopAsync("c");

        // Keep sending, as Raft does with heartbeats: a transport may notice the dead peer only on a later attempt.
        await Eventually.TrueAsync(
            () =>
            {
                cluster.Transport("a").Send(NewMessage("a", "c", 1));
                return cluster.Handler("a").Unreachable.Contains("c");
            },
            "an unreachable report for the stopped peer 'c'",
            Patience);

        cluster.Transport("a").Send(NewMessage("a", "b", 2));
        await cluster.Handler("b").WaitForMessagesAsync(1, Patience);
    }

    [Fact]
    public async Task Send_ToAStuckPeer_DoesNotBlockTheSenderOrOtherPeers()
    {
        await using var cluster = await StartAsync("a", "b", "c");
        var stuck = cluster.Handler("b");
        stuck.Block();
        try
        {
            cluster.Transport("a").Send(NewMessage("a", "b", 0));
            await Eventually.TrueAsync(() => stuck.BlockedReceivers > 0, "the stuck peer to be inside its handler", Patience);

            // Far more than any sane per-peer queue holds: the transport must drop (and may report), not block.
            var sending = Task.Run(() =>
            {
                for (var i = 1; i <= 20_000; i++)
                {
                    cluster.Transport("a").Send(NewMessage("a", "b", i));
                    if (i % 100 == 0)
                    {
                        cluster.Transport("a").Send(NewMessage("a", "c", i / 100));
                    }
                }
            });

            await sending.WaitAsync(Patience);
            await cluster.Handler("c").WaitForMessagesAsync(200, Patience);
            Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), cluster.Handler("c").Messages.Select(m => m.Index));
        }
        finally
        {
            stuck.Release();
        }

        // Once unstuck the peer hears from the sender again.
        var before = stuck.MessageCount;
        await Eventually.TrueAsync(
            () =>
            {
                cluster.Transport("a").Send(NewMessage("a", "b", -1));
                return stuck.Messages.Skip(before).Any(m => m.Index == -1);
            },
            "the unstuck peer to receive a new message",
            Patience);
    }

    // §7: the snapshot's data travels as a stream beside the InstallSnapshot message; its length is not known up front.
    [Fact]
    public async Task SendSnapshot_ToAPeer_DeliversTheMessageAndTheDataIntact()
    {
        await using var cluster = await StartAsync("a", "b");
        var data = new byte[(3 * 1024 * 1024) + 17];
        new Random(11).NextBytes(data);
        var metadata = new SnapshotMetadata(500, 7, new ClusterConfiguration(["a", "b"], ["c"]));
        var message = new Message
        {
            Type = MessageType.InstallSnapshot,
            From = "a",
            To = "b",
            Term = 8,
            Index = 500,
            LogTerm = 7,
            Snapshot = metadata,
        };

        await cluster.Transport("a").SendSnapshotAsync(message, new UnseekableStream(data)).WaitAsync(Patience);

        var (received, bytes) = Assert.Single(cluster.Handler("b").Snapshots);
        RaftAssert.MessageEqual(message, received);
        Assert.Equal(metadata, received.Snapshot);
        Assert.Equal(data, bytes);
        Assert.Empty(cluster.Handler("a").Snapshots);
    }

    [Fact]
    public async Task SendSnapshot_AnEmptySnapshot_IsDelivered()
    {
        await using var cluster = await StartAsync("a", "b");
        var message = NewMessage("a", "b", 3, MessageType.InstallSnapshot) with { Snapshot = new SnapshotMetadata(3, 1, new ClusterConfiguration(["a", "b"])) };

        await cluster.Transport("a").SendSnapshotAsync(message, new UnseekableStream([])).WaitAsync(Patience);

        var (received, bytes) = Assert.Single(cluster.Handler("b").Snapshots);
        Assert.Equal(message.Snapshot, received.Snapshot);
        Assert.Empty(bytes);
    }

    [Fact]
    public async Task SendSnapshot_ToAnUnreachablePeer_Fails()
    {
        await using var cluster = await StartAsync("a", "b");
        var message = NewMessage("a", "ghost", 1, MessageType.InstallSnapshot) with { Snapshot = new SnapshotMetadata(1, 1, new ClusterConfiguration(["a", "ghost"])) };

        await Assert.ThrowsAnyAsync<Exception>(() => cluster.Transport("a").SendSnapshotAsync(message, new UnseekableStream(new byte[1000])).WaitAsync(Patience));

        await cluster.StopAsync("b");
        var toStopped = message with { To = "b" };
        await Assert.ThrowsAnyAsync<Exception>(() => cluster.Transport("a").SendSnapshotAsync(toStopped, new UnseekableStream(new byte[1000])).WaitAsync(Patience));
    }

    // The receiver stores the data before it acknowledges; if that fails, the sender must learn it to retry.
    [Fact]
    public async Task SendSnapshot_WhenTheReceiverFails_Fails()
    {
        await using var cluster = await StartAsync("a", "b");
        cluster.Handler("b").SnapshotFailure = new IOException("disk full");
        var message = NewMessage("a", "b", 1, MessageType.InstallSnapshot) with { Snapshot = new SnapshotMetadata(1, 1, new ClusterConfiguration(["a", "b"])) };

        await Assert.ThrowsAnyAsync<Exception>(() => cluster.Transport("a").SendSnapshotAsync(message, new UnseekableStream(new byte[100_000])).WaitAsync(Patience));

        Assert.Empty(cluster.Handler("b").Snapshots);
    }

    [Fact]
    public async Task SendSnapshot_DoesNotStopOrdinaryMessages()
    {
        await using var cluster = await StartAsync("a", "b");
        var message = NewMessage("a", "b", 1, MessageType.InstallSnapshot) with { Snapshot = new SnapshotMetadata(1, 1, new ClusterConfiguration(["a", "b"])) };
        await cluster.Transport("a").SendSnapshotAsync(message, new UnseekableStream(new byte[10_000])).WaitAsync(Patience);

        cluster.Transport("a").Send(NewMessage("a", "b", 2));

        await cluster.Handler("b").WaitForMessagesAsync(1, Patience);
        Assert.Equal(2, cluster.Handler("b").Messages[^1].Index);
    }

    private async Task<Cluster> StartAsync(params string[] nodeIds)
    {
        var transports = await CreateTransportsAsync(nodeIds);
        Assert.Equal(nodeIds.Length, transports.Count);
        var cluster = new Cluster(nodeIds, transports);
        foreach (var id in nodeIds)
        {
            cluster.Transport(id).Start(cluster.Handler(id));
        }

        return cluster;
    }

    // A read-only stream whose length is unknown, as a state machine's snapshot stream may be.
    private sealed class UnseekableStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data, writable: false);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 4096));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _inner.ReadAsync(buffer[..Math.Min(buffer.Length, 4096)], cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    // The transports under test with their recording handlers; disposing releases and disposes everything.
    private sealed class Cluster(IReadOnlyList<string> nodeIds, IReadOnlyList<IRaftTransport> transports) : IAsyncDisposable
    {
        private readonly Dictionary<string, RecordingMessageHandler> _handlers = nodeIds.ToDictionary(id => id, _ => new RecordingMessageHandler());
        private readonly HashSet<string> _stopped = [];

        public IRaftTransport Transport(string nodeId) => transports[IndexOf(nodeId)];

        public RecordingMessageHandler Handler(string nodeId) => _handlers[nodeId];

        public async Task StopAsync(string nodeId)
        {
            if (_stopped.Add(nodeId))
            {
                await Transport(nodeId).DisposeAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var handler in _handlers.Values)
            {
                handler.Dispose();
            }

            foreach (var id in nodeIds)
            {
                await StopAsync(id);
            }
        }

        private int IndexOf(string nodeId)
        {
            for (var i = 0; i < nodeIds.Count; i++)
            {
                if (nodeIds[i] == nodeId)
                {
                    return i;
                }
            }

            throw new ArgumentException($"No node '{nodeId}' in this test.", nameof(nodeId));
        }
    }
}
