using System.Buffers.Binary;

namespace Orleans.Raft.EventSourcing;

// One event as stored in the journal: a format byte, the id of the activation that wrote it and that activation's
// sequence number for it, then the serialized event. The (writer, sequence) pair lets a writer whose append had an
// unknown outcome find out, from the journal alone, whether (and how much of) its batch landed.
internal static class EventRecord
{
    public const byte Format = 1;
    public const int HeaderSize = 1 + 16 + 8;

    public static byte[] Encode(Guid writer, long sequence, ReadOnlySpan<byte> payload)
    {
        var record = new byte[HeaderSize + payload.Length];
        record[0] = Format;
        writer.TryWriteBytes(record.AsSpan(1, 16));
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(17, 8), sequence);
        payload.CopyTo(record.AsSpan(HeaderSize));
        return record;
    }

    public static (Guid Writer, long Sequence, ReadOnlyMemory<byte> Payload) Decode(ReadOnlyMemory<byte> record)
    {
        var span = record.Span;
        if (span.Length < HeaderSize || span[0] != Format)
        {
            throw new InvalidDataException(
                $"A journal record of {span.Length} bytes is not an event record of format {Format}; the journal was written by something else or is corrupt.");
        }

        return (new Guid(span.Slice(1, 16)), BinaryPrimitives.ReadInt64LittleEndian(span.Slice(17, 8)), record[HeaderSize..]);
    }
}
