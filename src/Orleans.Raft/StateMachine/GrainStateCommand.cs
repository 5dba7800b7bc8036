using System.Buffers.Binary;
using System.Text;

namespace Orleans.Raft.StateMachine;

/// <summary>The kinds of command the replicated grain-state store applies.</summary>
internal enum CommandKind : byte
{
    /// <summary>Opens a client session; its id is the log index of this command (thesis §6.3).</summary>
    RegisterSession = 1,

    /// <summary>Writes a grain state if the stored ETag is the expected one.</summary>
    Write = 2,

    /// <summary>Clears (or deletes) a grain state if the stored ETag is the expected one.</summary>
    Clear = 3,

    /// <summary>Appends records to a journal if its ETag is the expected one (format 2).</summary>
    JournalAppend = 4,

    /// <summary>Replaces all records of a journal (and drops its snapshot) if its ETag is the expected one (format 2).</summary>
    JournalReplace = 5,

    /// <summary>Deletes a journal, keeping a tombstone, if its ETag is the expected one (format 2).</summary>
    JournalDelete = 6,

    /// <summary>Stores a snapshot of a journal's view at a record count, optionally trimming older records (format 2).</summary>
    JournalSnapshot = 7,

    /// <summary>Records the network address of a member (or joining) node, for every silo to reach it (format 3).</summary>
    SetMemberAddress = 8,
}

/// <summary>One command of the replicated grain-state store, and its binary form in the Raft log.</summary>
/// <remarks>
/// Format 1 (little-endian): format version (1 byte), kind (1 byte); for writes and clears then the session id, the
/// request id and the session's lowest unacknowledged request id (8 bytes each), the grain type, grain key and state
/// name (each a 4-byte length and UTF-8 bytes), the expected ETag (8 bytes, 0 for none), and for a write the data
/// (4-byte length and bytes) or for a clear one byte (1 = delete the record). The format is part of the durable log:
/// change it only with a new version number and keep reading the old one. Format 2 adds the journal commands (see
/// GrainStateCommand.Journal.cs), format 3 the member addresses (GrainStateCommand.Members.cs); registrations, writes
/// and clears are still written in format 1, so a node of the previous release can apply them.
/// </remarks>
internal sealed partial class GrainStateCommand
{
    public const byte FormatVersion = 1;

    public CommandKind Kind { get; init; }

    public long SessionId { get; init; }

    public long RequestId { get; init; }

    public long LowestUnacknowledged { get; init; }

    public GrainStateKey Key { get; init; }

    /// <summary>The ETag the caller read, or 0 when it read no state; for a journal snapshot, the journal's incarnation.</summary>
    public long ExpectedETag { get; init; }

    public ReadOnlyMemory<byte> Data { get; init; }

    public bool DeleteOnClear { get; init; }

    /// <summary>Bytes a command adds around the state's data and its key; the size limit accounts for it.</summary>
    public static int Overhead(GrainStateKey key) =>
        2 + 3 * 8 + 3 * 4 + Encoding.UTF8.GetByteCount(key.GrainType) + Encoding.UTF8.GetByteCount(key.GrainKey)
        + Encoding.UTF8.GetByteCount(key.StateName) + 8 + 4 + 1;

    public static byte[] RegisterSession() => [FormatVersion, (byte)CommandKind.RegisterSession];

    public byte[] Encode() => Encode(SessionId, RequestId, LowestUnacknowledged);

    /// <summary>
    /// Encodes this command as one request of a client session: the provider keeps one command per operation and
    /// encodes it for each attempt's session, request id and lowest unacknowledged request id.
    /// </summary>
    public byte[] Encode(long sessionId, long requestId, long lowestUnacknowledged)
    {
        if (IsJournal(Kind))
        {
            return EncodeJournal(sessionId, requestId, lowestUnacknowledged);
        }

        var buffer = new byte[Overhead(Key) + (Kind == CommandKind.Write ? Data.Length : 0)];
        var span = buffer.AsSpan();
        span[0] = FormatVersion;
        span[1] = (byte)Kind;
        var offset = 2;
        if (Kind == CommandKind.RegisterSession)
        {
            return buffer[..offset];
        }

        WriteInt64(span, ref offset, sessionId);
        WriteInt64(span, ref offset, requestId);
        WriteInt64(span, ref offset, lowestUnacknowledged);
        WriteString(span, ref offset, Key.GrainType);
        WriteString(span, ref offset, Key.GrainKey);
        WriteString(span, ref offset, Key.StateName);
        WriteInt64(span, ref offset, ExpectedETag);
        if (Kind == CommandKind.Write)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[offset..], Data.Length);
            offset += 4;
            Data.Span.CopyTo(span[offset..]);
            offset += Data.Length;
        }
        else
        {
            span[offset++] = DeleteOnClear ? (byte)1 : (byte)0;
        }

        return offset == buffer.Length ? buffer : buffer[..offset];
    }

    /// <summary>Reads a command written by <see cref="Encode(long, long, long)"/>.</summary>
    /// <param name="bytes">The command.</param>
    /// <param name="names">Where the grain type and state name are looked up, when given (the state machine's own).</param>
    /// <exception cref="InvalidDataException">The bytes are not a command of a known format.</exception>
    public static GrainStateCommand Decode(ReadOnlyMemory<byte> bytes, Utf8NameCache? names = null)
    {
        try
        {
            var span = bytes.Span;
            if (span.Length < 2 || span[0] is not (FormatVersion or JournalFormatVersion or MembersFormatVersion))
            {
                throw new InvalidDataException(
                    $"Not a grain-state command of format {FormatVersion}, {JournalFormatVersion} or {MembersFormatVersion} (first byte {(span.Length == 0 ? "none" : span[0].ToString(System.Globalization.CultureInfo.InvariantCulture))}).");
            }

            var kind = (CommandKind)span[1];
            if (span[0] == MembersFormatVersion && kind != CommandKind.SetMemberAddress)
            {
                throw new InvalidDataException($"Unknown grain-state command kind {(byte)kind} in format {span[0]}.");
            }

            var offset = 2;
            switch (kind)
            {
                case CommandKind.RegisterSession:
                    return new GrainStateCommand { Kind = kind };
                case CommandKind.Write:
                case CommandKind.Clear:
                    break;
                case >= CommandKind.JournalAppend and <= CommandKind.JournalSnapshot when span[0] == JournalFormatVersion:
                    return DecodeJournal(bytes, kind, names);
                case CommandKind.SetMemberAddress when span[0] == MembersFormatVersion:
                    return DecodeMemberAddress(span);
                default:
                    throw new InvalidDataException($"Unknown grain-state command kind {(byte)kind} in format {span[0]}.");
            }

            var sessionId = ReadInt64(span, ref offset);
            var requestId = ReadInt64(span, ref offset);
            var lowest = ReadInt64(span, ref offset);
            var key = ReadKey(span, ref offset, names);
            var expected = ReadInt64(span, ref offset);
            if (kind == CommandKind.Write)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(span[offset..]);
                offset += 4;
                if (length < 0 || length > span.Length - offset)
                {
                    throw new InvalidDataException($"A grain-state write claims {length} bytes of data but {span.Length - offset} remain.");
                }

                return new GrainStateCommand
                {
                    Kind = kind, SessionId = sessionId, RequestId = requestId, LowestUnacknowledged = lowest, Key = key,
                    ExpectedETag = expected, Data = bytes.Slice(offset, length),
                };
            }

            return new GrainStateCommand
            {
                Kind = kind, SessionId = sessionId, RequestId = requestId, LowestUnacknowledged = lowest, Key = key,
                ExpectedETag = expected, DeleteOnClear = span[offset] != 0,
            };
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new InvalidDataException("A grain-state command is truncated.", ex);
        }
        catch (IndexOutOfRangeException ex)
        {
            throw new InvalidDataException("A grain-state command is truncated.", ex);
        }
    }

    private static void WriteInt64(Span<byte> span, ref int offset, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(span[offset..], value);
        offset += 8;
    }

    private static void WriteString(Span<byte> span, ref int offset, string value)
    {
        var length = Encoding.UTF8.GetBytes(value, span[(offset + 4)..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[offset..], length);
        offset += 4 + length;
    }

    private static long ReadInt64(ReadOnlySpan<byte> span, ref int offset)
    {
        var value = BinaryPrimitives.ReadInt64LittleEndian(span[offset..]);
        offset += 8;
        return value;
    }

    private static GrainStateKey ReadKey(ReadOnlySpan<byte> span, ref int offset, Utf8NameCache? names) =>
        new(ReadString(span, ref offset, names), ReadString(span, ref offset), ReadString(span, ref offset, names));

    private static string ReadString(ReadOnlySpan<byte> span, ref int offset, Utf8NameCache? names = null)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[offset..]);
        offset += 4;
        if (length < 0 || length > span.Length - offset)
        {
            throw new InvalidDataException($"A grain-state command claims a {length}-byte string but {span.Length - offset} bytes remain.");
        }

        var bytes = span.Slice(offset, length);
        var value = names is null ? Encoding.UTF8.GetString(bytes) : names.Get(bytes);
        offset += length;
        return value;
    }
}

/// <summary>The store's answer to one command: a status and an ETag (see <see cref="CommandStatus"/>).</summary>
/// <param name="Status">What happened.</param>
/// <param name="ETag">The new ETag when applied (the session id for a registration), the stored one on a mismatch; 0 = none.</param>
internal readonly record struct CommandAnswer(CommandStatus Status, long ETag)
{
    public const int Size = 9;

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        bytes[0] = (byte)Status;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1), ETag);
        return bytes;
    }

    /// <exception cref="InvalidDataException">The bytes are not an answer.</exception>
    public static CommandAnswer Decode(ReadOnlySpan<byte> bytes) => bytes.Length == Size && bytes[0] <= (byte)CommandStatus.IncarnationChanged
        ? new CommandAnswer((CommandStatus)bytes[0], BinaryPrimitives.ReadInt64LittleEndian(bytes[1..]))
        : throw new InvalidDataException($"Not an answer of the grain-state store ({bytes.Length} bytes).");
}
