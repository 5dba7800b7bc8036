using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Storage.Faster.Internal;

namespace Raft.Storage.Faster;

/// <summary>
/// A durable <see cref="IHardStateStore"/>: a fixed file of two checksummed 4 KiB slots, written alternately with one
/// write and one fdatasync per save (about one disk flush, far cheaper than writing a new file and renaming it).
/// </summary>
/// <remarks>
/// <para>
/// Crash safety: a save writes only the slot not holding the current state, so a write torn by a crash damages at most
/// the new state, which was never reported durable; loading takes the valid slot with the highest sequence number.
/// Both slots are written with the empty state when the file is created.
/// </para>
/// <para>
/// The file is held open exclusively: a second store on the same file fails to open. Thread-safe.
/// </para>
/// </remarks>
public sealed class FileHardStateStore : IHardStateStore, IDisposable
{
    /// <summary>The longest vote (node id) in UTF-8 bytes that a slot holds.</summary>
    public const int MaxVoteBytes = SlotSize - VoteOffset - 4;

    private const int SlotSize = 4096;
    private const int VoteOffset = 36;
    private const uint Magic = 0x53485246; // "FRHS"
    private const ushort Version = 1;

    private readonly Lock _lock = new();
    private readonly SafeFileHandle _handle;
    private long _sequence;
    private HardState _state;
    private bool _disposed;

    private FileHardStateStore(string path, SafeFileHandle handle, long sequence, HardState state)
    {
        Path = path;
        _handle = handle;
        _sequence = sequence;
        _state = state;
    }

    /// <summary>The file holding the state.</summary>
    public string Path { get; }

    /// <summary>Opens the hard-state file at <paramref name="path"/>, creating it (durably) when it does not exist.</summary>
    /// <param name="path">The file; its directory is created when missing.</param>
    /// <returns>The store; dispose it to release the file.</returns>
    /// <exception cref="IOException">The file is in use by another store, or cannot be read.</exception>
    /// <exception cref="LogCorruptedException">Neither slot of an existing file is valid.</exception>
    public static FileHardStateStore Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        path = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(path)!;
        NativeIo.CreateDirectoryDurably(directory);
        if (!File.Exists(path))
        {
            var temp = path + ".tmp";
            using (var created = File.OpenHandle(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
            {
                var empty = new byte[2 * SlotSize];
                Encode(HardState.Empty, 0, empty.AsSpan(0, SlotSize));
                Encode(HardState.Empty, 0, empty.AsSpan(SlotSize));
                RandomAccess.Write(created, empty, 0);
                NativeIo.FlushData(created, temp);
            }

            File.Move(temp, path);
            NativeIo.FlushDirectory(directory);
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The hard-state file '{path}' is in use by another store (in this or another process); each node needs its own.", ex);
        }

        try
        {
            // What is read must be durable before the node acts on it: a process killed between a save's write and its
            // sync left that slot in the page cache only, and a vote restored from it, then lost to a power failure,
            // could be cast twice in one term (found by helper-49's hunt in session 30). So must the file's name: one
            // killed after the creating rename, before the directory's fsync, left it in the page cache too (helper-50).
            NativeIo.FlushData(handle, path);
            NativeIo.FlushDirectory(directory);
            var buffer = new byte[2 * SlotSize];
            var read = RandomAccess.Read(handle, buffer, 0);
            (long Sequence, HardState State)? best = null;
            for (var slot = 0; slot < 2 && (slot + 1) * SlotSize <= read; slot++)
            {
                if (TryDecode(buffer.AsSpan(slot * SlotSize, SlotSize)) is { } decoded && (best is null || decoded.Sequence > best.Value.Sequence))
                {
                    best = decoded;
                }
            }

            if (best is null)
            {
                throw new LogCorruptedException(path, -1,
                    "Neither slot of the hard-state file is valid; the node's term and vote are unknown, and guessing could let it vote twice in a term");
            }

            return new FileHardStateStore(path, handle, best.Value.Sequence, best.Value.State);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask<HardState> LoadAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return ValueTask.FromResult(_state);
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The vote is longer than <see cref="MaxVoteBytes"/> bytes in UTF-8.</exception>
    /// <exception cref="IOException">The write or the fdatasync failed; the durable state is unknown.</exception>
    public ValueTask SaveAsync(HardState state, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (state.VotedFor is { } vote && Encoding.UTF8.GetByteCount(vote) > MaxVoteBytes)
        {
            throw new ArgumentException($"The vote '{vote}' is longer than {MaxVoteBytes} UTF-8 bytes; node ids must be shorter.", nameof(state));
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var next = _sequence + 1;
            var slot = new byte[SlotSize];
            Encode(state, next, slot);
            RandomAccess.Write(_handle, slot, (next % 2) * SlotSize);
            NativeIo.FlushData(_handle, Path);
            _sequence = next;
            _state = state;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _disposed = true;
                _handle.Dispose();
            }
        }
    }

    // Slot: [magic:4][version:2][voteLength:2][sequence:8][term:8][commit:8][hasVote:1][0:3][vote][crc32c:4]
    private static void Encode(HardState state, long sequence, Span<byte> slot)
    {
        var vote = state.VotedFor is null ? [] : Encoding.UTF8.GetBytes(state.VotedFor);
        BinaryPrimitives.WriteUInt32LittleEndian(slot, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(slot[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(slot[6..], (ushort)vote.Length);
        BinaryPrimitives.WriteInt64LittleEndian(slot[8..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(slot[16..], state.Term);
        BinaryPrimitives.WriteInt64LittleEndian(slot[24..], state.Commit);
        slot[32] = state.VotedFor is null ? (byte)0 : (byte)1;
        vote.CopyTo(slot[VoteOffset..]);
        var end = VoteOffset + vote.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(slot[end..], Crc32C.Compute(slot[..end]));
    }

    private static (long Sequence, HardState State)? TryDecode(ReadOnlySpan<byte> slot)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(slot) != Magic || BinaryPrimitives.ReadUInt16LittleEndian(slot[4..]) != Version)
        {
            return null;
        }

        var voteLength = BinaryPrimitives.ReadUInt16LittleEndian(slot[6..]);
        var end = VoteOffset + voteLength;
        if (voteLength > MaxVoteBytes || BinaryPrimitives.ReadUInt32LittleEndian(slot[end..]) != Crc32C.Compute(slot[..end]))
        {
            return null;
        }

        var vote = slot[32] == 0 ? null : Encoding.UTF8.GetString(slot.Slice(VoteOffset, voteLength));
        return (BinaryPrimitives.ReadInt64LittleEndian(slot[8..]),
            new HardState(BinaryPrimitives.ReadInt64LittleEndian(slot[16..]), vote, BinaryPrimitives.ReadInt64LittleEndian(slot[24..])));
    }
}
