using Orleans.Journaling;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Journaling;

// The optional metadata operations of IJournalStorage. Creating a journal and reading its metadata map onto the store
// directly; updating metadata does not (see UpdateMetadataAsync).
internal sealed partial class RaftJournalStorage
{
    /// <inheritdoc />
    public async ValueTask<bool> CreateIfNotExistsAsync(IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        if (metadata is not null && metadata.ContainsKey(FormatKeyProperty))
        {
            throw new ArgumentException($"The metadata property '{FormatKeyProperty}' is owned by the Raft journal storage (it holds the format key); use another name.", nameof(metadata));
        }

        var journal = await Guard("create", _storage.ReadJournalAsync(_key, cancellationToken)).ConfigureAwait(false);
        if (journal.Exists)
        {
            return false;
        }

        var properties = new Dictionary<string, string>(StringComparer.Ordinal) { [FormatKeyProperty] = _formatKey };
        foreach (var (name, value) in metadata ?? new Dictionary<string, string>())
        {
            properties[name] = value;
        }

        long eTag;
        try
        {
            // An append of no records creates the journal (or a new incarnation after a delete) with its metadata.
            eTag = await _storage.AppendJournalAsync(_key, journal.ETag, [], properties, cancellationToken).ConfigureAwait(false);
        }
        catch (RaftJournalConflictException)
        {
            // Another writer got there first; it created the journal unless it only deleted it again.
            if ((await _storage.ReadJournalAsync(_key, cancellationToken).ConfigureAwait(false)).Exists)
            {
                return false;
            }

            throw;
        }

        if (_eTag == journal.ETag)
        {
            // This instance was up to date, so it stays so: its next append continues the created journal.
            (_eTag, _storedFormatKey, _records, _bytes) = (eTag, _formatKey, 0, 0);
        }

        return true;
    }

    /// <inheritdoc />
    public async ValueTask<IJournalMetadata?> GetMetadataAsync(CancellationToken cancellationToken = default)
    {
        var journal = await Guard("metadata", _storage.ReadJournalAsync(_key, cancellationToken)).ConfigureAwait(false);
        return journal.Exists ? Metadata(journal) : null;
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: see the message.</exception>
    public ValueTask<IJournalMetadata?> UpdateMetadataAsync(
        IReadOnlyDictionary<string, string>? set = null, IEnumerable<string>? remove = null, string? expectedETag = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException(
            "The Raft journal storage does not support UpdateMetadataAsync: a journal's metadata shares the journal's ETag, so updating it would fence the grain activation that writes the journal, and the replicated store cannot remove properties. Set metadata when the journal is created (CreateIfNotExistsAsync).");
}
