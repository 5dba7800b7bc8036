using Raft.Core.Messages;
using Raft.Core.StateMachine;

namespace Raft.Testing.KeyValue;

/// <summary>A small in-memory key-value store replicated by Raft, for the simulator and the samples' tests.</summary>
/// <remarks>
/// Deterministic, as <see cref="IStateMachine"/> requires: the same commands in the same order give the same
/// contents and results on every replica. A Get may go through the log (a command like the others) or be served
/// from <see cref="Data"/> after a ReadIndex. The snapshot format is deterministic too (keys in ordinal order), so
/// equal states give equal snapshot bytes. Completes synchronously, so the simulator stays on one thread.
/// </remarks>
public sealed class KvStateMachine : IStateMachine
{
    // Sorted and ordinal, so two replicas compare and print identically.
    private readonly SortedDictionary<string, string> _data = new(StringComparer.Ordinal);

    // Invariant: entries arrive with strictly increasing indexes.
    private long _lastApplied;

    /// <summary>The index of the last entry applied.</summary>
    public long LastApplied => _lastApplied;

    /// <summary>The current contents, in ordinal key order.</summary>
    public IReadOnlyDictionary<string, string> Data => _data;

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Index <= _lastApplied)
        {
            throw new InvalidOperationException($"Entry {entry.Index} applied after entry {_lastApplied}: entries must arrive once each, in log order.");
        }

        _lastApplied = entry.Index;
        var result = Apply(KvCommand.Decode(entry.Data.Span));
        return ValueTask.FromResult<ReadOnlyMemory<byte>>(result.Encode());
    }

    /// <summary>Executes one command against the contents.</summary>
    /// <param name="command">The command.</param>
    /// <returns>Its result.</returns>
    public KvResult Apply(KvCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        switch (command.Type)
        {
            case KvCommandType.Get:
                return new KvResult(true, _data.GetValueOrDefault(command.Key));
            case KvCommandType.Put:
                _data[command.Key] = command.Value ?? throw new FormatException("A put carries no value.");
                return new KvResult(true, null);
            case KvCommandType.Delete:
                _data.Remove(command.Key);
                return new KvResult(true, null);
            case KvCommandType.Cas:
                var current = _data.GetValueOrDefault(command.Key);
                if (!string.Equals(current, command.Expected, StringComparison.Ordinal))
                {
                    return new KvResult(false, current);
                }

                _data[command.Key] = command.Value ?? throw new FormatException("A compare-and-set carries no value.");
                return new KvResult(true, null);
            default:
                throw new FormatException($"Unknown key-value command {command.Type}.");
        }
    }

    /// <inheritdoc />
    public ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(SnapshotMagic);
        writer.Write(_lastApplied);
        writer.Write(_data.Count);
        foreach (var (key, value) in _data)
        {
            writer.Write(key);
            writer.Write(value);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadInt32() != SnapshotMagic)
            {
                throw new InvalidDataException("Not a key-value state machine snapshot.");
            }

            var lastApplied = reader.ReadInt64();
            var count = reader.ReadInt32();
            var data = new SortedDictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                data[reader.ReadString()] = reader.ReadString();
            }

            _data.Clear();
            foreach (var (key, value) in data)
            {
                _data[key] = value;
            }

            _lastApplied = lastApplied;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The key-value snapshot is truncated.", ex);
        }

        return ValueTask.CompletedTask;
    }

    private const int SnapshotMagic = 0x4B56534E; // "KVSN"

    /// <summary>Describes the contents in one line, for failure reports.</summary>
    /// <returns>The contents as <c>{k=v, ...}</c>.</returns>
    public string Describe() => "{" + string.Join(", ", _data.Select(pair => $"{pair.Key}={pair.Value}")) + "}";
}
