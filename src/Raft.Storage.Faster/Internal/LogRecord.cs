using System.Buffers.Binary;
using FASTER.core;
using Raft.Core.Messages;

namespace Raft.Storage.Faster.Internal;

internal enum RecordKind : byte
{
    // An entry of the Raft log.
    Entry = 1,

    // Discards every entry with an index >= Index (written before the entries that replace them, in the same batch).
    Truncate = 2,

    // Discards the whole log; the next entry has index Index + 1 (a follower installing a snapshot).
    Reset = 3,
}

[Flags]
internal enum RecordFlags : byte
{
    None = 0,

    // The last record of one append: recovery applies a batch only when it found this record, so an append (with
    // the truncation it implies) is atomic.
    EndOfBatch = 1,
}

// The header of one record as parsed during recovery or a read.
internal readonly record struct RecordHeader(RecordKind Kind, RecordFlags Flags, EntryType Type, int Epoch, long Index, long Term, int PayloadLength);

// One record in a FasterLog entry (FasterLog adds its own 4-byte length in front and pads to 4 bytes):
//   [crc32c:4][kind:1][flags:1][entryType:1][0:1][epoch:4][payloadLength:4][index:8][term:8][payload]
// The CRC covers everything after itself. The epoch is the number of the store's open that wrote the record; it never
// decreases along the log, which tells a stale record left past a recovered tail (older epoch) from a live one.
internal readonly struct LogRecord(RecordKind kind, RecordFlags flags, EntryType type, int epoch, long index, long term, ReadOnlyMemory<byte> payload)
    : ILogEnqueueEntry
{
    public const int HeaderSize = 32;

    public int SerializedLength => HeaderSize + payload.Length;

    public void SerializeTo(Span<byte> dest)
    {
        dest[4] = (byte)kind;
        dest[5] = (byte)flags;
        dest[6] = (byte)type;
        dest[7] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(dest[8..], epoch);
        BinaryPrimitives.WriteInt32LittleEndian(dest[12..], payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(dest[16..], index);
        BinaryPrimitives.WriteInt64LittleEndian(dest[24..], term);
        payload.Span.CopyTo(dest[HeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(dest, Crc32C.Compute(dest[4..SerializedLength]));
    }

    // Verifies and parses a record; returns a reason when it is not a valid record.
    public static string? TryParse(ReadOnlySpan<byte> record, out RecordHeader header)
    {
        header = default;
        if (record.Length < HeaderSize)
        {
            return $"record of {record.Length} bytes is shorter than the {HeaderSize}-byte header";
        }

        var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(record[12..]);
        if (payloadLength != record.Length - HeaderSize)
        {
            return $"record length {record.Length} does not match its payload length {payloadLength}";
        }

        var stored = BinaryPrimitives.ReadUInt32LittleEndian(record);
        var actual = Crc32C.Compute(record[4..]);
        if (stored != actual)
        {
            return $"checksum mismatch (stored 0x{stored:x8}, computed 0x{actual:x8})";
        }

        var kind = (RecordKind)record[4];
        if (kind is not (RecordKind.Entry or RecordKind.Truncate or RecordKind.Reset) || record[6] > (byte)EntryType.ConfigChange)
        {
            return $"unknown record kind {record[4]} or entry type {record[6]}";
        }

        header = new RecordHeader(
            kind,
            (RecordFlags)record[5],
            (EntryType)record[6],
            BinaryPrimitives.ReadInt32LittleEndian(record[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(record[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(record[24..]),
            payloadLength);
        return null;
    }
}
