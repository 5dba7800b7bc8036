using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Storage.Faster.Internal;

namespace Raft.Storage.Faster;

/// <summary>
/// A durable <see cref="ISnapshotStore"/>: one file per snapshot, written under a temporary name, fsynced, renamed into
/// place and the directory fsynced; metadata and data are checksummed (CRC-32C) and verified before a snapshot is
/// returned.
/// </summary>
/// <remarks>
/// <para>
/// File: a header (magic, version, index, term, the encoded <see cref="ClusterConfiguration"/>, its CRC), the data,
/// then a trailer (data length, data CRC, magic). Named <c>snapshot-{index}-{term}.snap</c> with zero-padded numbers.
/// Once a snapshot commits, every other snapshot file is deleted, so at most one remains (plus, after a crash, a
/// temporary file that the next open deletes).
/// </para>
/// <para>
/// The directory is locked for the lifetime of the store. <see cref="OpenLatestAsync"/> reads the newest snapshot once
/// to verify it, then returns a stream over its data; a corrupt newest snapshot throws instead of falling back to an
/// older state. Thread-safe.
/// </para>
/// </remarks>
public sealed class FileSnapshotStore : ISnapshotStore, IDisposable
{
    private const ulong HeaderMagic = 0x50414E5354464152; // "RAFTSNAP"
    private const uint TrailerMagic = 0x444E4553; // "SEND"
    private const int Version = 1;
    private const int TrailerSize = 16;
    private const string Extension = ".snap";
    private const string TempExtension = ".tmp";

    private readonly DirectoryLock _lock;
    private readonly ILogger _logger;
    private readonly Lock _commitLock = new();
    private bool _disposed;

    private FileSnapshotStore(string directory, DirectoryLock directoryLock, ILogger logger)
    {
        Directory = directory;
        _lock = directoryLock;
        _logger = logger;
    }

    /// <summary>The directory holding the snapshots.</summary>
    public string Directory { get; }

    /// <summary>Opens the snapshot store in <paramref name="directory"/>, creating it when missing, and deletes temporary files left by a crash.</summary>
    /// <param name="directory">The directory; one store per directory (it is locked).</param>
    /// <param name="loggerFactory">Where the store logs; none when null.</param>
    /// <returns>The store; dispose it to release the directory.</returns>
    /// <exception cref="IOException">The directory is in use by another store.</exception>
    public static FileSnapshotStore Open(string directory, ILoggerFactory? loggerFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        directory = Path.GetFullPath(directory);
        NativeIo.CreateDirectoryDurably(directory);
        var directoryLock = DirectoryLock.Acquire(directory, "snapshot");
        foreach (var temp in System.IO.Directory.EnumerateFiles(directory, "*" + TempExtension))
        {
            File.Delete(temp);
        }

        return new FileSnapshotStore(directory, directoryLock, (ILogger?)loggerFactory?.CreateLogger<FileSnapshotStore>() ?? NullLogger.Instance);
    }

    /// <inheritdoc />
    public ValueTask<ISnapshotWriter> CreateAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentOutOfRangeException.ThrowIfNegative(metadata.Index);
        ArgumentOutOfRangeException.ThrowIfNegative(metadata.Term);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        var temp = Path.Combine(Directory, $"{FileName(metadata)}.{Guid.NewGuid():N}{TempExtension}");
        var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        try
        {
            var header = EncodeHeader(metadata);
            file.Write(header);
            return ValueTask.FromResult<ISnapshotWriter>(new Writer(this, metadata, file, temp));
        }
        catch
        {
            file.Dispose();
            File.Delete(temp);
            throw;
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The newest snapshot fails verification; the message names the file.</exception>
    public async ValueTask<SnapshotReader?> OpenLatestAsync(CancellationToken cancellationToken = default)
    {
        (string? Path, (long Index, long Term)? Key) latest;
        FileStream file;

        // Found and opened under the commit lock: a commit deletes every older snapshot, so the newest found outside it
        // may be gone before it is opened (a leader sending it while its applier commits the next one).
        lock (_commitLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            latest = System.IO.Directory.EnumerateFiles(Directory, "snapshot-*" + Extension)
                .Select(path => (Path: path, Key: ParseName(path)))
                .Where(f => f.Key is not null)
                .OrderByDescending(f => f.Key!.Value.Index).ThenByDescending(f => f.Key!.Value.Term)
                .FirstOrDefault();
            if (latest.Path is null)
            {
                return null;
            }

            // FileShare.Delete: on Windows, a commit may then replace or delete the file while it is read.
            file = new FileStream(latest.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous);
        }

        try
        {
            var (metadata, dataStart, dataLength) = await VerifyAsync(file, latest.Path, cancellationToken).ConfigureAwait(false);
            file.Position = dataStart;
            return new SnapshotReader(metadata, new BoundedReadStream(file, dataLength));
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Releases the directory; writers still open can no longer commit.</summary>
    public void Dispose()
    {
        lock (_commitLock)
        {
            if (!_disposed)
            {
                _disposed = true;
                _lock.Dispose();
            }
        }
    }

    private static string FileName(SnapshotMetadata metadata) =>
        string.Create(CultureInfo.InvariantCulture, $"snapshot-{metadata.Index:D20}-{metadata.Term:D20}");

    private static (long Index, long Term)? ParseName(string path)
    {
        var parts = Path.GetFileNameWithoutExtension(path).Split('-');
        return parts.Length == 3 &&
               long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index) &&
               long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var term)
            ? (index, term)
            : null;
    }

    // Header: [magic:8][version:4][metadataLength:4][index:8][term:8][configuration][crc32c:4], the CRC over all before it.
    private static byte[] EncodeHeader(SnapshotMetadata metadata)
    {
        var configuration = metadata.Configuration.Encode();
        var header = new byte[40 + configuration.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(header, HeaderMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), 16 + configuration.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), metadata.Index);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), metadata.Term);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(32), configuration.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(36), 0);
        configuration.CopyTo(header.AsSpan(40));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(header.Length - 4), Crc32C.Compute(header.AsSpan(0, header.Length - 4)));
        return header;
    }

    private static async Task<(SnapshotMetadata Metadata, long DataStart, long DataLength)> VerifyAsync(FileStream file, string path, CancellationToken cancellationToken)
    {
        InvalidDataException Corrupt(string problem) => new($"Snapshot file '{path}' is corrupt: {problem}. It is never used; install a snapshot from the leader or restore a backup.");

        var fixedPart = new byte[40];
        if (file.Length < fixedPart.Length + 4 + TrailerSize || await file.ReadAtLeastAsync(fixedPart, fixedPart.Length, false, cancellationToken).ConfigureAwait(false) < fixedPart.Length)
        {
            throw Corrupt($"it is only {file.Length} bytes long");
        }

        var configurationLength = BinaryPrimitives.ReadInt32LittleEndian(fixedPart.AsSpan(32));
        if (BinaryPrimitives.ReadUInt64LittleEndian(fixedPart) != HeaderMagic ||
            BinaryPrimitives.ReadInt32LittleEndian(fixedPart.AsSpan(8)) != Version ||
            configurationLength < 0 || 40L + configurationLength + 4 + TrailerSize > file.Length)
        {
            throw Corrupt("the header is not a snapshot header of version 1");
        }

        var header = new byte[40 + configurationLength + 4];
        fixedPart.CopyTo(header, 0);
        await file.ReadExactlyAsync(header.AsMemory(40), cancellationToken).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(header.Length - 4)) != Crc32C.Compute(header.AsSpan(0, header.Length - 4)))
        {
            throw Corrupt("the metadata checksum does not match");
        }

        var dataStart = header.Length;
        var trailer = new byte[TrailerSize];
        file.Position = file.Length - TrailerSize;
        await file.ReadExactlyAsync(trailer, cancellationToken).ConfigureAwait(false);
        var dataLength = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        if (BinaryPrimitives.ReadUInt32LittleEndian(trailer.AsSpan(12)) != TrailerMagic || dataLength != file.Length - TrailerSize - dataStart)
        {
            throw Corrupt("the trailer is missing or its data length does not match the file size");
        }

        file.Position = dataStart;
        var crc = Crc32C.Start;
        var buffer = new byte[1 << 16];
        for (var remaining = dataLength; remaining > 0;)
        {
            var n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw Corrupt("the data ends early");
            }

            crc = Crc32C.Append(crc, buffer.AsSpan(0, n));
            remaining -= n;
        }

        if (Crc32C.Finish(crc) != BinaryPrimitives.ReadUInt32LittleEndian(trailer.AsSpan(8)))
        {
            throw Corrupt("the data checksum does not match");
        }

        SnapshotMetadata metadata;
        try
        {
            metadata = new SnapshotMetadata(
                BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16)),
                BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(24)),
                ClusterConfiguration.Decode(header.AsSpan(40, configurationLength)));
        }
        catch (FormatException ex)
        {
            throw Corrupt(ex.Message);
        }

        return (metadata, dataStart, dataLength);
    }

    // Renames a finished temporary file into place, durably, and deletes every other snapshot.
    private void Commit(string temp, SnapshotMetadata metadata, long dataLength)
    {
        lock (_commitLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var final = Path.Combine(Directory, FileName(metadata) + Extension);
            File.Move(temp, final, overwrite: true);
            NativeIo.FlushDirectory(Directory);
            var newest = System.IO.Directory.EnumerateFiles(Directory, "snapshot-*" + Extension)
                .Select(path => (Path: path, Key: ParseName(path)))
                .Where(f => f.Key is not null)
                .MaxBy(f => f.Key!.Value);
            foreach (var other in System.IO.Directory.EnumerateFiles(Directory, "snapshot-*" + Extension).Where(p => p != newest.Path).ToList())
            {
                File.Delete(other);
            }

            NativeIo.FlushDirectory(Directory);
            Log.SnapshotCommitted(_logger, Directory, metadata.Index, metadata.Term, dataLength);
        }
    }

    private sealed class Writer(FileSnapshotStore store, SnapshotMetadata metadata, FileStream file, string temp) : ISnapshotWriter
    {
        private readonly ChecksumStream _stream = new(file);
        private bool _committed;
        private bool _closed;

        public SnapshotMetadata Metadata { get; } = metadata;

        public Stream Stream => _stream;

        public async ValueTask CommitAsync(CancellationToken cancellationToken = default)
        {
            if (_committed || _closed)
            {
                throw new InvalidOperationException(_committed ? "The snapshot was already committed." : "The snapshot writer was disposed.");
            }

            var trailer = new byte[TrailerSize];
            BinaryPrimitives.WriteInt64LittleEndian(trailer, _stream.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(8), _stream.Crc);
            BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(12), TrailerMagic);
            await file.WriteAsync(trailer, cancellationToken).ConfigureAwait(false);
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
            await file.DisposeAsync().ConfigureAwait(false);
            _closed = true;
            store.Commit(temp, Metadata, _stream.Length);
            _committed = true;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_closed)
            {
                _closed = true;
                await file.DisposeAsync().ConfigureAwait(false);
            }

            if (!_committed)
            {
                File.Delete(temp);
            }
        }
    }

    // Write-only stream that checksums and counts the data on its way to the file.
    private sealed class ChecksumStream(FileStream inner) : Stream
    {
        private uint _crc = Crc32C.Start;
        private long _length;

        public uint Crc => Crc32C.Finish(_crc);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException("Snapshot data is written sequentially.");
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            _crc = Crc32C.Append(_crc, buffer);
            _length += buffer.Length;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            _crc = Crc32C.Append(_crc, buffer.Span);
            _length += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    // Read-only view of the data part of a verified snapshot file; disposing it closes the file.
    private sealed class BoundedReadStream(FileStream inner, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, length - _position)]);
            _position += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, length - _position)], cancellationToken).ConfigureAwait(false);
            _position += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
