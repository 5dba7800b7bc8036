using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Journaling;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Journaling;

/// <summary>
/// Orleans journaling (<c>IDurableStateManager</c>, <c>IDurableDictionary</c>, <c>IDurableValue</c>, ...) on Raft:
/// each grain's journal is kept in the replicated store of a <see cref="RaftGrainStorage"/>, appended and compacted
/// through its Raft group, read linearizably.
/// </summary>
/// <remarks>
/// Register it with <c>siloBuilder.AddRaftJournalStorage(o =&gt; o.GrainStorageName = "raft")</c>. Each activation gets
/// its own <see cref="IJournalStorage"/> (see <see cref="CreateStorage"/>), which fences itself: its appends are
/// conditional on the ETag it read or last wrote, so a stale activation cannot fork the journal.
/// </remarks>
public sealed class RaftJournalStorageProvider : IJournalStorageProvider
{
    /// <summary>The grain type under which journals are kept in the store, apart from grain states and other journals.</summary>
    internal const string JournalGrainType = "orleans.journaling";

    /// <summary>The name under which a journal is kept in the store (the state name of its key).</summary>
    internal const string JournalStateName = "journal";

    private readonly RaftGrainStorage _storage;
    private readonly RaftJournalStorageOptions _options;
    private readonly string _formatKey;
    private readonly ILogger _logger;

    /// <summary>Creates the provider on a Raft grain storage.</summary>
    /// <param name="storage">The Raft grain storage whose store keeps the journals.</param>
    /// <param name="options">The provider's options.</param>
    /// <param name="managerOptions">The journaled state manager's options (the format key written with each journal).</param>
    /// <param name="loggerFactory">Where the provider logs.</param>
    public RaftJournalStorageProvider(
        RaftGrainStorage storage,
        RaftJournalStorageOptions options,
        IOptions<JournaledStateManagerOptions> managerOptions,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(managerOptions);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _storage = storage;
        _options = options;
        _formatKey = managerOptions.Value.JournalFormatKey;
        _logger = loggerFactory.CreateLogger<RaftJournalStorageProvider>();
    }

    /// <summary>The store key of a journal.</summary>
    /// <param name="journalId">The journal (for a grain, <c>JournalId.FromGrainId</c>).</param>
    /// <returns>Its key in the replicated store.</returns>
    public static GrainStateKey KeyOf(JournalId journalId) => new(JournalGrainType, journalId.Value, JournalStateName);

    /// <inheritdoc />
    public IJournalStorage CreateStorage(JournalId journalId) =>
        new RaftJournalStorage(_storage, KeyOf(journalId), journalId.Value, _formatKey, _options, _logger);
}
