using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.EventSourcing;
using Orleans.EventSourcing.Common;
using Orleans.Raft.EventSourcing;
using Orleans.Raft.StateMachine;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orleans.Raft.Tests.EventSourcing;

// Drives RaftLogViewAdaptor directly, as a JournaledGrain activation would, so tests can run two "activations" of one
// grain side by side (a failover) and inject faults into the journal.
internal static class AdaptorHarness
{
    private static readonly ServiceProvider Root = new ServiceCollection().AddSerializer().BuildServiceProvider();

    public static DeepCopier Copier => Root.GetRequiredService<DeepCopier>();

    public static IGrainStorageSerializer Serializer { get; } = new OrleansGrainStorageSerializer(Root.GetRequiredService<Serializer>());

    public static GrainStateKey Key(string grain) => new("ledger", grain, typeof(LedgerGrain).FullName!);

    public static async Task<Activation> ActivateAsync(IEventJournal journal, string grain, RaftLogConsistencyOptions? options = null)
    {
        var host = new Host();
        var services = new Services(GrainId.Create("ledger", grain));
        var adaptor = new RaftLogViewAdaptor<LedgerState, LedgerEntry>(
            host, new LedgerState(), services, journal, Key(grain), options ?? new RaftLogConsistencyOptions { MaxRetryDelay = TimeSpan.FromMilliseconds(20) },
            Serializer, NullLogger.Instance, "test");
        var activation = new Activation(adaptor, host, services, new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler);
        await activation.Run(async a =>
        {
            await a.PreOnActivate();
            await a.PostOnActivate();
            await a.Synchronize();
        });
        return activation;
    }

    // The amounts in the journal, in order, and who wrote each.
    public static async Task<List<(Guid Writer, long Sequence, int Amount)>> ReadJournalAsync(IEventJournal journal, string grain)
    {
        var state = await journal.ReadAsync(Key(grain), CancellationToken.None);
        return [.. state.Records.Select(r =>
        {
            var (writer, sequence, payload) = EventRecord.Decode(r);
            return (writer, sequence, Serializer.Deserialize<LedgerEntry>(new BinaryData(payload))!.Amount);
        })];
    }

    // Every call into the adaptor runs on the activation's own exclusive scheduler, as a grain's calls run on its
    // activation's: Orleans' PrimaryBasedLogViewAdaptor is single-threaded and resumes its work cycle on the caller's
    // scheduler. Called from the test's pool threads instead, a TryAppend could add to the pending list while the work
    // cycle trimmed it on another thread, and the submission was lost (its promise never completed; the test hung).
    // Reading the confirmed view once a call has returned needs no scheduler.
    internal sealed record Activation(RaftLogViewAdaptor<LedgerState, LedgerEntry> Adaptor, Host Host, Services Services, TaskScheduler Scheduler)
    {
        public Task<int> AddAsync(params int[] amounts) => Run(async a =>
        {
            a.SubmitRange(amounts.Select(amount => new LedgerEntry { Amount = amount }));
            await a.ConfirmSubmittedEntries();
            return a.ConfirmedVersion;
        });

        public Task<bool> TryAppend(LedgerEntry entry) => Run(a => a.TryAppend(entry));

        public Task Synchronize() => Run(a => a.Synchronize());

        public Task ClearLogAsync() => Run(a => a.ClearLogAsync(CancellationToken.None));

        public Task<IReadOnlyList<LedgerEntry>> RetrieveLogSegment(int fromVersion, int toVersion) =>
            Run(a => a.RetrieveLogSegment(fromVersion, toVersion));

        public Task<T> Run<T>(Func<RaftLogViewAdaptor<LedgerState, LedgerEntry>, Task<T>> call) =>
            Task.Factory.StartNew(() => call(Adaptor), CancellationToken.None, TaskCreationOptions.DenyChildAttach, Scheduler).Unwrap();

        public Task Run(Func<RaftLogViewAdaptor<LedgerState, LedgerEntry>, Task> call) =>
            Task.Factory.StartNew(() => call(Adaptor), CancellationToken.None, TaskCreationOptions.DenyChildAttach, Scheduler).Unwrap();
    }

    internal sealed class Host : ILogViewAdaptorHost<LedgerState, LedgerEntry>
    {
        public int Issues;

        public void UpdateView(LedgerState view, LedgerEntry entry) => view.Apply(entry);

        public void OnViewChanged(bool tentative, bool confirmed)
        {
        }

        public void OnConnectionIssue(ConnectionIssue issue) => Interlocked.Increment(ref Issues);

        public void OnConnectionIssueResolved(ConnectionIssue issue)
        {
        }
    }

    internal sealed class Services(GrainId grainId) : ILogConsistencyProtocolServices
    {
        public List<string> ProtocolErrors { get; } = [];

        public GrainId GrainId => grainId;

        public string MyClusterId => "test";

        public T DeepCopy<T>(T value) => Copier.Copy(value)!;

        public void ProtocolError(string msg, bool throwexception)
        {
            lock (ProtocolErrors)
            {
                ProtocolErrors.Add(msg);
            }

            if (throwexception)
            {
                throw new OrleansException(msg);
            }
        }

        public void CaughtException(string where, Exception e) => ProtocolError($"{where}: {e}", false);

        public void CaughtUserCodeException(string callback, string where, Exception e) => ProtocolError($"{callback} {where}: {e}", false);

        public void Log(LogLevel level, string format, params object[] args)
        {
        }
    }
}
