using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Transport;
using Raft.Testing.Conformance;
using Raft.Transport.Grpc.Tests.Infrastructure;

namespace Raft.Transport.Grpc.Tests;

public sealed class SnapshotTransferTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(64 * 1024)]
    [InlineData((3 * 1024 * 1024) + 17)]
    public async Task SendSnapshotAsync_DeliversTheMessageAndEveryByte(int size)
    {
        await using var pair = await Pair.StartAsync(o => o.SnapshotChunkBytes = 256 * 1024);
        var data = new byte[size];
        new Random(size).NextBytes(data);

        // A stream of unknown length that returns short reads, as a snapshot being written would.
        await pair.A.SendSnapshotAsync(Snapshot("a", "b"), new TrickleStream(data));

        var (message, received) = Assert.Single(pair.HandlerB.Snapshots);
        RaftAssert.MessageEqual(Snapshot("a", "b"), message);
        Assert.Equal(new SnapshotMetadata(40, 3, new ClusterConfiguration(["a", "b"], ["c"])), message.Snapshot);
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task SendSnapshotAsync_ToAnUnknownPeer_ThrowsAndReportsItUnreachable()
    {
        await using var pair = await Pair.StartAsync();

        await Assert.ThrowsAsync<IOException>(() => pair.A.SendSnapshotAsync(Snapshot("a", "ghost"), new MemoryStream([1, 2, 3])));

        Assert.Contains("ghost", pair.HandlerA.Unreachable);
    }

    [Fact]
    public async Task SendSnapshotAsync_WhenTheReceiverFailsToStoreIt_ThrowsWithTheReasonAndTheNodeKeepsServing()
    {
        var nodes = await TestNode.StartConnectedAsync(["a", "b"]);
        await using var a = nodes[0];
        await using var b = nodes[1];
        using var handlerA = new RecordingMessageHandler();
        var failing = new FailingSnapshotHandler();
        a.Start(handlerA);
        b.Start(failing);

        var error = await Assert.ThrowsAsync<IOException>(() => a.SendSnapshotAsync(Snapshot("a", "b"), new MemoryStream(new byte[300_000])));

        Assert.Contains("disk full", error.Message, StringComparison.Ordinal);
        a.Send(Messages.Heartbeat("a", "b", 1));
        await Eventually.TrueAsync(() => failing.Received > 0, "b to keep receiving messages");
    }

    [Fact]
    public async Task SendSnapshotAsync_DoesNotHoldBackMessagesToTheSamePeer()
    {
        await using var pair = await Pair.StartAsync(o => o.SnapshotChunkBytes = 64 * 1024);
        var gate = new TaskCompletionSource();
        var blocked = new GatedStream(new byte[1024 * 1024], gate.Task);

        var transfer = pair.A.SendSnapshotAsync(Snapshot("a", "b"), blocked);
        pair.A.Send(Messages.Heartbeat("a", "b", 1));
        await pair.HandlerB.WaitForMessagesAsync(1);
        Assert.False(transfer.IsCompleted);

        gate.SetResult();
        await transfer;
        Assert.Single(pair.HandlerB.Snapshots);
    }

    // The leader's snapshot file fails to read half-way (a disk error): the transfer must fail and end, so that the node
    // reports it and can try again, rather than wait for the receiver's answer to a call it never finished.
    [Fact]
    public async Task SendSnapshotAsync_WhenTheDataStreamFailsMidway_ThrowsInsteadOfHanging()
    {
        await using var pair = await Pair.StartAsync(o => o.SnapshotChunkBytes = 64 * 1024);
        var failing = new FailingReadStream(new byte[200 * 1024], failAfter: 100 * 1024);

        var transfer = pair.A.SendSnapshotAsync(Snapshot("a", "b"), failing);
        var finished = await Task.WhenAny(transfer, Task.Delay(TimeSpan.FromSeconds(10)));

        Assert.True(finished == transfer, "the transfer neither completed nor failed within 10 s of its data stream failing");
        await Assert.ThrowsAnyAsync<IOException>(() => transfer);
        Assert.Empty(pair.HandlerB.Snapshots);
    }

    private static Message Snapshot(string from, string to) => new()
    {
        Type = MessageType.InstallSnapshot,
        From = from,
        To = to,
        Term = 3,
        Index = 40,
        LogTerm = 3,
        Snapshot = new SnapshotMetadata(40, 3, new ClusterConfiguration(["a", "b"], ["c"])),
    };

    private sealed class FailingSnapshotHandler : IRaftMessageHandler
    {
        private int _received;

        public int Received => Volatile.Read(ref _received);

        public void Receive(Message message) => Interlocked.Increment(ref _received);

        public void ReportUnreachable(string nodeId)
        {
        }

        public async Task ReceiveSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default)
        {
            var buffer = new byte[4096];
            _ = await data.ReadAsync(buffer, cancellationToken);
            throw new IOException("disk full");
        }
    }

    // Returns at most 1000 bytes per read and cannot seek: the size is not known up front.
    private sealed class TrickleStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, 1000), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // Gives its first `failAfter` bytes, then fails as a disk read error would.
    private sealed class FailingReadStream(byte[] data, int failAfter) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAfter)
            {
                throw new IOException("Input/output error");
            }

            var n = Math.Min(Math.Min(count, failAfter - _position), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // Gives its first half at once and the rest once the gate opens.
    private sealed class GatedStream(byte[] data, Task gate) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= data.Length / 2)
            {
                await gate.WaitAsync(cancellationToken);
            }

            var n = Math.Min(buffer.Length, data.Length - _position);
            data.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
