using System.Text;
using Raft.Core.Messages;
using Raft.Core.StateMachine;
using Raft.Transport.Grpc;

namespace KeyValueStore.Store;

/// <summary>The replicated dictionary: applies committed commands, answers gets after a read index, and snapshots itself.</summary>
/// <remarks>
/// One lock guards the dictionary, because gets (<see cref="QueryAsync"/>) run beside the applier. A command that does
/// not decode is answered with an error and changes nothing: every replica does the same, so it cannot make them differ,
/// and a bad client cannot stop the nodes. Values are kept as the UTF-8 bytes the commands carry (half the memory of
/// strings, and nothing to transcode on each apply), and a put to a key that exists allocates no key.
/// </remarks>
public sealed class KvStateMachine : IStateMachine, IRaftQueryHandler
{
    private const int SnapshotFormat = 1;

    // The answer to every successful put and delete, encoded once: results are read-only memory to the runtime.
    private static readonly ReadOnlyMemory<byte> Done = new KvResult(true, null).Encode();

    // Keys longer than this (in UTF-8 bytes) are decoded to a string for the lookup instead of onto the stack.
    private const int StackKeyBytes = 256;

    private readonly Dictionary<string, byte[]> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private readonly Lock _lock = new();

    /// <summary>Creates an empty store.</summary>
    public KvStateMachine()
    {
        _byChars = _data.GetAlternateLookup<ReadOnlySpan<char>>();
    }

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
        ReadOnlyMemory<byte> result;
        try
        {
            var command = KvCommandView.Parse(entry.Data.Span);
            lock (_lock)
            {
                result = Apply(command);
            }
        }
        catch (FormatException ex)
        {
            result = new KvResult(false, "malformed command: " + ex.Message).Encode();
        }

        return ValueTask.FromResult(result);
    }

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> QueryAsync(ReadOnlyMemory<byte> query, CancellationToken cancellationToken = default)
    {
        byte[] result;
        try
        {
            var command = KvCommandView.Parse(query.Span);
            if (command.Operation != KvOperation.Get)
            {
                result = new KvResult(false, $"a read may only get, not {command.Operation}").Encode();
            }
            else
            {
                lock (_lock)
                {
                    result = KvResult.Encode(true, Find(command.Key));
                }
            }
        }
        catch (FormatException ex)
        {
            result = new KvResult(false, "malformed query: " + ex.Message).Encode();
        }

        return ValueTask.FromResult<ReadOnlyMemory<byte>>(result);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Streams the pairs straight to <paramref name="destination"/> through a 64 KiB buffer: no copy of the dictionary
    /// and no in-memory image of the snapshot, which would be large-object-heap allocations (and a full garbage
    /// collection) on every snapshot. It runs between applies (the state machine contract), so nothing changes the
    /// dictionary meanwhile; readers only read it.
    /// </remarks>
    public async ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        // Not disposed: disposing a BufferedStream closes the stream under it, which belongs to the snapshot store.
        var buffered = new BufferedStream(destination, 64 << 10);
        using (var writer = new BinaryWriter(buffered, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(SnapshotFormat);
            writer.Write(_data.Count);
            foreach (var (key, value) in _data)
            {
                // A value is written as BinaryWriter writes a string (7-bit length, then UTF-8), so snapshots taken
                // when values were kept as strings read the same.
                writer.Write(key);
                writer.Write7BitEncodedInt(value.Length);
                writer.Write(value);
            }
        }

        await buffered.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await source.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        var restored = new Dictionary<string, byte[]>(StringComparer.Ordinal);
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
                    var key = reader.ReadString();
                    var length = reader.Read7BitEncodedInt();
                    if (length < 0 || length > buffer.Length - buffer.Position)
                    {
                        throw new InvalidDataException($"The key-value store snapshot has a bad value length for key '{key}'.");
                    }

                    restored[key] = reader.ReadBytes(length);
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

    private ReadOnlyMemory<byte> Apply(KvCommandView command)
    {
        switch (command.Operation)
        {
            case KvOperation.Get:
                return KvResult.Encode(true, Find(command.Key));
            case KvOperation.Put when command.HasValue:
                Store(command.Key, command.Value.ToArray());
                return Done;
            case KvOperation.Delete:
                Remove(command.Key);
                return Done;
            case KvOperation.Cas when command.HasValue:
                var current = Find(command.Key);
                var matches = current is null ? !command.HasExpected : command.HasExpected && command.Expected.SequenceEqual(current);
                if (!matches)
                {
                    return KvResult.Encode(false, current);
                }

                Store(command.Key, command.Value.ToArray());
                return Done;
            default:
                return new KvResult(false, $"malformed command: {command.Operation} needs a value").Encode();
        }
    }

    // Keys are looked up by their characters, decoded onto the stack (a string only for a longer key): a string is
    // stored only for a key that is new.
    private byte[]? Find(ReadOnlySpan<byte> utf8Key) =>
        _byChars.TryGetValue(KeyChars(utf8Key, stackalloc char[StackKeyBytes]), out var value) ? value : null;

    private void Store(ReadOnlySpan<byte> utf8Key, byte[] value) => _byChars[KeyChars(utf8Key, stackalloc char[StackKeyBytes])] = value;

    private void Remove(ReadOnlySpan<byte> utf8Key) => _byChars.Remove(KeyChars(utf8Key, stackalloc char[StackKeyBytes]));

    // A UTF-8 key never decodes to more characters than it has bytes.
    private static ReadOnlySpan<char> KeyChars(ReadOnlySpan<byte> utf8Key, Span<char> buffer) =>
        utf8Key.Length <= buffer.Length ? buffer[..Encoding.UTF8.GetChars(utf8Key, buffer)] : Encoding.UTF8.GetString(utf8Key);
}
