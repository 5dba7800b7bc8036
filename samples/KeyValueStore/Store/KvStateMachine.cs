using System.Text;
using Raft.Core.Messages;
using Raft.Core.StateMachine;
using Raft.Transport.Grpc;

namespace KeyValueStore.Store;

/// <summary>The replicated dictionary: applies committed commands, answers gets after a read index, and snapshots itself.</summary>
/// <remarks>
/// One lock guards the dictionary, because gets (<see cref="QueryAsync"/>) run beside the applier. A command that does
/// not decode is answered with an error and changes nothing: every replica does the same, so it cannot make them differ,
/// and a bad client cannot stop the nodes.
/// </remarks>
public sealed class KvStateMachine : IStateMachine, IRaftQueryHandler
{
    private const int SnapshotFormat = 1;

    // The answer to every successful put and delete, encoded once: results are read-only memory to the runtime.
    private static readonly ReadOnlyMemory<byte> Done = new KvResult(true, null).Encode();
    private readonly Dictionary<string, string> _data = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The number of keys.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _data.Count;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        KvResult result;
        try
        {
            var command = KvCommand.Decode(entry.Data);
            lock (_lock)
            {
                result = Apply(command);
            }
        }
        catch (FormatException ex)
        {
            result = new KvResult(false, "malformed command: " + ex.Message);
        }

        return ValueTask.FromResult(result.Ok && result.Value is null ? Done : result.Encode());
    }

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> QueryAsync(ReadOnlyMemory<byte> query, CancellationToken cancellationToken = default)
    {
        KvResult result;
        try
        {
            var command = KvCommand.Decode(query);
            if (command.Operation != KvOperation.Get)
            {
                result = new KvResult(false, $"a read may only get, not {command.Operation}");
            }
            else
            {
                lock (_lock)
                {
                    result = new KvResult(true, _data.GetValueOrDefault(command.Key));
                }
            }
        }
        catch (FormatException ex)
        {
            result = new KvResult(false, "malformed query: " + ex.Message);
        }

        return ValueTask.FromResult<ReadOnlyMemory<byte>>(result.Encode());
    }

    /// <inheritdoc />
    public async ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        KeyValuePair<string, string>[] pairs;
        lock (_lock)
        {
            pairs = [.. _data];
        }

        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(SnapshotFormat);
            writer.Write(pairs.Length);
            foreach (var (key, value) in pairs)
            {
                writer.Write(key);
                writer.Write(value);
            }
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await source.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        var restored = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var reader = new BinaryReader(buffer, Encoding.UTF8);
            if (buffer.Length > 0)
            {
                if (reader.ReadInt32() != SnapshotFormat)
                {
                    throw new InvalidDataException("Not a key-value store snapshot (unknown format).");
                }

                var count = reader.ReadInt32();
                for (var i = 0; i < count; i++)
                {
                    restored[reader.ReadString()] = reader.ReadString();
                }
            }
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The key-value store snapshot is truncated.", ex);
        }

        lock (_lock)
        {
            _data.Clear();
            foreach (var (key, value) in restored)
            {
                _data[key] = value;
            }
        }
    }

    private KvResult Apply(KvCommand command)
    {
        switch (command.Operation)
        {
            case KvOperation.Get:
                return new KvResult(true, _data.GetValueOrDefault(command.Key));
            case KvOperation.Put when command.Value is { } value:
                _data[command.Key] = value;
                return new KvResult(true, null);
            case KvOperation.Delete:
                _data.Remove(command.Key);
                return new KvResult(true, null);
            case KvOperation.Cas when command.Value is { } value:
                var current = _data.GetValueOrDefault(command.Key);
                if (!string.Equals(current, command.Expected, StringComparison.Ordinal))
                {
                    return new KvResult(false, current);
                }

                _data[command.Key] = value;
                return new KvResult(true, null);
            default:
                return new KvResult(false, $"malformed command: {command.Operation} needs a value");
        }
    }
}
