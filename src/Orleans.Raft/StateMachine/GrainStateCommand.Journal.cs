using System.Buffers.Binary;
using System.Text;

namespace Orleans.Raft.StateMachine;

// Format 2: the journal commands. After the format-1 header (version 2, kind, session id, request id, lowest
// unacknowledged request id, grain type, grain key, journal name, expected ETag) comes
// - for an append or a replace: the record count (4 bytes), each record (4-byte length and bytes), the property count
//   (4 bytes) and each property (name and value, each a 4-byte length and UTF-8 bytes);
// - for a delete: nothing;
// - for a snapshot: the record count it was taken at (8 bytes), 1 byte (1 = trim the records below it), the snapshot
//   (4-byte length and bytes). A snapshot is not ETag-conditional: its expected-ETag slot carries the incarnation of
//   the journal it was taken from (StoredJournal.Incarnation), which must still be the current one.
internal sealed partial class GrainStateCommand
{
    public const byte JournalFormatVersion = 2;

    private static readonly IReadOnlyDictionary<string, string> NoProperties = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The records of a journal append or replace.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Records { get; init; } = [];

    /// <summary>Properties a journal append or replace sets (others are kept); empty for none.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = NoProperties;

    /// <summary>The record count a journal snapshot was taken at.</summary>
    public long AtCount { get; init; }

    /// <summary>Whether a journal snapshot drops the records below <see cref="AtCount"/>.</summary>
    public bool TrimHistory { get; init; }

    public static bool IsJournal(CommandKind kind) => kind is >= CommandKind.JournalAppend and <= CommandKind.JournalSnapshot;

    /// <summary>Bytes of the command beyond its header and key: what the size limit (MaxStateSize) bounds.</summary>
    public int PayloadSize()
    {
        long size = Kind switch
        {
            CommandKind.JournalAppend or CommandKind.JournalReplace => 4 + Records.Sum(r => 4L + r.Length) + 4
                + Properties.Sum(p => 8L + Encoding.UTF8.GetByteCount(p.Key) + Encoding.UTF8.GetByteCount(p.Value)),
            CommandKind.JournalSnapshot => 8 + 1 + 4 + Data.Length,
            CommandKind.Write => Data.Length,
            _ => 0,
        };
        return size > int.MaxValue ? int.MaxValue : (int)size;
    }

    private static int HeaderSize(GrainStateKey key) =>
        2 + 3 * 8 + 3 * 4 + Encoding.UTF8.GetByteCount(key.GrainType) + Encoding.UTF8.GetByteCount(key.GrainKey)
        + Encoding.UTF8.GetByteCount(key.StateName) + 8;

    private byte[] EncodeJournal(long sessionId, long requestId, long lowestUnacknowledged)
    {
        var buffer = new byte[checked(HeaderSize(Key) + PayloadSize())];
        var span = buffer.AsSpan();
        span[0] = JournalFormatVersion;
        span[1] = (byte)Kind;
        var offset = 2;
        WriteInt64(span, ref offset, sessionId);
        WriteInt64(span, ref offset, requestId);
        WriteInt64(span, ref offset, lowestUnacknowledged);
        WriteString(span, ref offset, Key.GrainType);
        WriteString(span, ref offset, Key.GrainKey);
        WriteString(span, ref offset, Key.StateName);
        WriteInt64(span, ref offset, ExpectedETag);
        switch (Kind)
        {
            case CommandKind.JournalAppend:
            case CommandKind.JournalReplace:
                WriteInt32(span, ref offset, Records.Count);
                foreach (var record in Records)
                {
                    WriteBytes(span, ref offset, record.Span);
                }

                WriteInt32(span, ref offset, Properties.Count);
                foreach (var (name, value) in Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    WriteString(span, ref offset, name);
                    WriteString(span, ref offset, value);
                }

                break;
            case CommandKind.JournalSnapshot:
                WriteInt64(span, ref offset, AtCount);
                span[offset++] = TrimHistory ? (byte)1 : (byte)0;
                WriteBytes(span, ref offset, Data.Span);
                break;
        }

        return offset == buffer.Length ? buffer : buffer[..offset];
    }

    // The records and the snapshot are slices of `bytes`: the caller owns them (the state machine copies an entry once).
    private static GrainStateCommand DecodeJournal(ReadOnlyMemory<byte> bytes, CommandKind kind, Utf8NameCache? names)
    {
        var span = bytes.Span;
        var offset = 2;
        var sessionId = ReadInt64(span, ref offset);
        var requestId = ReadInt64(span, ref offset);
        var lowest = ReadInt64(span, ref offset);
        var key = ReadKey(span, ref offset, names);
        var expected = ReadInt64(span, ref offset);
        switch (kind)
        {
            case CommandKind.JournalAppend:
            case CommandKind.JournalReplace:
            {
                var count = ReadCount(span, ref offset, minimumBytesEach: 4);
                var records = new ReadOnlyMemory<byte>[count];
                for (var i = 0; i < count; i++)
                {
                    records[i] = ReadBytes(bytes, ref offset);
                }

                var propertyCount = ReadCount(span, ref offset, minimumBytesEach: 8);
                var properties = propertyCount == 0 ? NoProperties : new Dictionary<string, string>(propertyCount, StringComparer.Ordinal);
                for (var i = 0; i < propertyCount; i++)
                {
                    var name = ReadString(span, ref offset);
                    ((Dictionary<string, string>)properties)[name] = ReadString(span, ref offset);
                }

                return new GrainStateCommand
                {
                    Kind = kind, SessionId = sessionId, RequestId = requestId, LowestUnacknowledged = lowest, Key = key,
                    ExpectedETag = expected, Records = records, Properties = properties,
                };
            }

            case CommandKind.JournalSnapshot:
            {
                var atCount = ReadInt64(span, ref offset);
                var trim = span[offset++] != 0;
                return new GrainStateCommand
                {
                    Kind = kind, SessionId = sessionId, RequestId = requestId, LowestUnacknowledged = lowest, Key = key,
                    ExpectedETag = expected, AtCount = atCount, TrimHistory = trim, Data = ReadBytes(bytes, ref offset),
                };
            }

            default:
                return new GrainStateCommand
                {
                    Kind = kind, SessionId = sessionId, RequestId = requestId, LowestUnacknowledged = lowest, Key = key,
                    ExpectedETag = expected,
                };
        }
    }

    private static void WriteInt32(Span<byte> span, ref int offset, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(span[offset..], value);
        offset += 4;
    }

    private static void WriteBytes(Span<byte> span, ref int offset, ReadOnlySpan<byte> value)
    {
        WriteInt32(span, ref offset, value.Length);
        value.CopyTo(span[offset..]);
        offset += value.Length;
    }

    private static int ReadCount(ReadOnlySpan<byte> span, ref int offset, int minimumBytesEach)
    {
        var count = BinaryPrimitives.ReadInt32LittleEndian(span[offset..]);
        offset += 4;
        if (count < 0 || (long)count * minimumBytesEach > span.Length - offset)
        {
            throw new InvalidDataException($"A journal command claims {count} items but only {span.Length - offset} bytes remain.");
        }

        return count;
    }

    private static ReadOnlyMemory<byte> ReadBytes(ReadOnlyMemory<byte> bytes, ref int offset)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.Span[offset..]);
        offset += 4;
        if (length < 0 || length > bytes.Length - offset)
        {
            throw new InvalidDataException($"A journal command claims a {length}-byte record but {bytes.Length - offset} bytes remain.");
        }

        var slice = bytes.Slice(offset, length);
        offset += length;
        return slice;
    }
}
