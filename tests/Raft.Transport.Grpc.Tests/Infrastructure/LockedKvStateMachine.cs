using Raft.Core.Messages;
using Raft.Core.StateMachine;
using Raft.Testing.KeyValue;

namespace Raft.Transport.Grpc.Tests.Infrastructure;

// The test key-value state machine behind a lock, so that local queries (read index) can run beside the applies.
public sealed class LockedKvStateMachine : IStateMachine, IRaftQueryHandler
{
    private readonly Lock _lock = new();

    public KvStateMachine Inner { get; } = new();

    public long LastApplied
    {
        get
        {
            lock (_lock)
            {
                return Inner.LastApplied;
            }
        }
    }

    public IReadOnlyDictionary<string, string> Data
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, string>(Inner.Data);
            }
        }
    }

    public ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(Inner.ApplyAsync(entry, cancellationToken).Result);
        }
    }

    public async ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        var buffer = new MemoryStream();
        lock (_lock)
        {
            Inner.WriteSnapshotAsync(buffer, cancellationToken).AsTask().GetAwaiter().GetResult();
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(destination, cancellationToken);
    }

    public async ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default)
    {
        var buffer = new MemoryStream();
        await source.CopyToAsync(buffer, cancellationToken);
        buffer.Position = 0;
        lock (_lock)
        {
            Inner.RestoreSnapshotAsync(buffer, cancellationToken).AsTask().GetAwaiter().GetResult();
        }
    }

    public ValueTask<ReadOnlyMemory<byte>> QueryAsync(ReadOnlyMemory<byte> query, CancellationToken cancellationToken = default)
    {
        var command = KvCommand.Decode(query.Span);
        if (command.Type != KvCommandType.Get)
        {
            throw new InvalidOperationException("Only gets are queries.");
        }

        lock (_lock)
        {
            return ValueTask.FromResult<ReadOnlyMemory<byte>>(Inner.Apply(command).Encode());
        }
    }
}
