using System.Text;
using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Tests.Runtime.Fakes;

namespace Raft.Core.Tests.Runtime;

public sealed class ReadyProcessorTests
{
    private readonly CallLog _calls = new();
    private readonly ScriptedLogStore _logStore;
    private readonly ScriptedHardStateStore _hardStateStore;
    private readonly ReadyProcessor _processor;
    private int _mark;

    public ReadyProcessorTests()
    {
        _logStore = new ScriptedLogStore(_calls);
        _hardStateStore = new ScriptedHardStateStore(_calls);
        _processor = new ReadyProcessor(_logStore, _hardStateStore, new RecordingTransport(_calls));
    }

    // The calls since Prime.
    private IReadOnlyList<string> Calls => [.. _calls.Calls.Skip(_mark)];

    // Thesis §10.2.1: the leader's appends go out while its own write is still running.
    [Fact]
    public async Task PersistAndSend_AppendPending_SendsMessagesButHoldsPersistedMessages()
    {
        Prime();
        _logStore.PendingAppend = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var processing = _processor.PersistAndSendAsync(NewReady()).AsTask();

        Assert.False(processing.IsCompleted);
        Assert.Equal(["send:m1", "send:m2", "append:start"], Calls);
        Assert.DoesNotContain("send:p1", Calls);

        _logStore.PendingAppend.SetResult();
        await processing;
        Assert.Equal(["send:m1", "send:m2", "append:start", "append:done", "send:p1", "send:p2"], Calls);
    }

    // Raft needs the term and the vote durable, not the commit index: a ready that only moves the commit index costs
    // the log's fsync, never a second one for the hard state.
    [Fact]
    public void PersistAndSend_HardStateMovesOnlyTheCommitIndex_IsNotSaved()
    {
        Prime();
        var ready = new Ready(null, new HardState(2, "a", 7), [new Entry(1, 2, EntryType.Normal, default)], [NewMessage("m1")], [NewMessage("p1")], []);

        Assert.True(_processor.PersistAndSendAsync(ready).IsCompletedSuccessfully);

        Assert.Equal(["send:m1", "append:start", "append:done", "send:p1"], Calls);
    }

    [Fact]
    public void PersistAndSend_OnlyACommitIndexChange_TouchesNoStore()
    {
        Prime();

        var ready = new Ready(null, new HardState(2, "a", 9), [], [NewMessage("m1")], [NewMessage("p1")], []);

        Assert.True(_processor.PersistAndSendAsync(ready).IsCompletedSuccessfully);

        Assert.Equal(["send:m1", "send:p1"], Calls);
    }

    [Fact]
    public void PersistAndSend_SynchronousStores_CompletesSynchronouslyInOrder()
    {
        Prime();
        var processing = _processor.PersistAndSendAsync(NewReady());

        Assert.True(processing.IsCompletedSuccessfully);
        Assert.Equal(["send:m1", "send:m2", "append:start", "append:done", "send:p1", "send:p2"], Calls);
        Assert.Equal(2, _logStore.LastIndex);
    }

    [Fact]
    public void PersistAndSend_NothingToPersist_SendsBothListsWithoutTouchingTheStores()
    {
        var processing = _processor.PersistAndSendAsync(NewReady(withHardState: false, entries: []));

        Assert.True(processing.IsCompletedSuccessfully);
        Assert.Equal(["send:m1", "send:m2", "send:p1", "send:p2"], Calls);
    }

    [Fact]
    public void PersistAndSend_OnlyAHardState_SavesWithoutAppending()
    {
        _ = _processor.PersistAndSendAsync(NewReady(entries: []));

        Assert.Equal(["send:m1", "send:m2", "save:start", "save:done", "send:p1", "send:p2"], Calls);
    }

    [Fact]
    public void PersistAndSend_OnlyEntries_AppendsWithoutSaving()
    {
        _ = _processor.PersistAndSendAsync(NewReady(withHardState: false));

        Assert.Equal(["send:m1", "send:m2", "append:start", "append:done", "send:p1", "send:p2"], Calls);
    }

    [Fact]
    public async Task PersistAndSend_AppendFails_FaultsWithoutSendingPersistedMessages()
    {
        Prime();
        var failure = new IOException("disk gone");
        _logStore.FailWith = failure;

        var thrown = await Assert.ThrowsAsync<IOException>(async () => await _processor.PersistAndSendAsync(NewReady()));

        Assert.Same(failure, thrown);
        Assert.DoesNotContain("send:p1", Calls);
    }

    [Fact]
    public async Task PersistAndSend_AsyncAppendFails_FaultsWithoutSendingPersistedMessages()
    {
        Prime();
        _logStore.PendingAppend = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _logStore.FailWith = new IOException("disk gone");
        var processing = _processor.PersistAndSendAsync(NewReady()).AsTask();
        Assert.False(processing.IsCompleted);

        _logStore.PendingAppend.SetResult();

        await Assert.ThrowsAsync<IOException>(() => processing);
        Assert.DoesNotContain("send:p1", Calls);
    }

    [Fact]
    public async Task PersistAndSend_SaveFails_FaultsWithoutSendingPersistedMessages()
    {
        _hardStateStore.FailWith = new IOException("disk gone");

        await Assert.ThrowsAsync<IOException>(async () => await _processor.PersistAndSendAsync(NewReady()));

        Assert.DoesNotContain("send:p1", Calls);
    }

    [Fact]
    public async Task PersistAndSend_StoreThrowsInsteadOfFaulting_FaultsTheTask()
    {
        Prime();
        _logStore.FailWith = new IOException("disk gone");
        _logStore.ThrowSynchronously = true;

        await Assert.ThrowsAsync<IOException>(async () => await _processor.PersistAndSendAsync(NewReady()));

        Assert.Equal(["send:m1", "send:m2", "append:start"], Calls);
    }

    // A node meeting a new leader raises its term and appends that leader's entries in one ready: were the writes
    // concurrent, a crash could keep the entries and lose the term.
    [Fact]
    public async Task PersistAndSend_NewTermWithEntries_SavesTheHardStateBeforeAppending()
    {
        _hardStateStore.PendingSave = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var processing = _processor.PersistAndSendAsync(NewReady()).AsTask();

        Assert.Equal(["send:m1", "send:m2", "save:start"], Calls);
        _hardStateStore.PendingSave.SetResult();
        await processing;
        Assert.Equal(["send:m1", "send:m2", "save:start", "save:done", "append:start", "append:done", "send:p1", "send:p2"], Calls);
    }

    [Fact]
    public async Task PersistAndSend_NewTermAndTheSaveFails_NeverAppends()
    {
        _hardStateStore.FailWith = new IOException("disk gone");

        await Assert.ThrowsAsync<IOException>(async () => await _processor.PersistAndSendAsync(NewReady()));

        Assert.DoesNotContain("append:start", Calls);
        Assert.Equal(0, _logStore.LastIndex);
    }

    [Fact]
    public void PersistAndSend_SynchronousStoresAndANewTerm_StillCompletesSynchronously()
    {
        var processing = _processor.PersistAndSendAsync(NewReady());

        Assert.True(processing.IsCompletedSuccessfully);
        Assert.Equal(["send:m1", "send:m2", "save:start", "save:done", "append:start", "append:done", "send:p1", "send:p2"], Calls);
    }

    [Fact]
    public void PersistAndSend_AVoteInTheSameTermWithEntries_SavesFirstToo()
    {
        Prime();
        var vote = new Ready(null, new HardState(2, "b", 0), [new Entry(1, 2, EntryType.Normal, default)], [], [], []);

        _ = _processor.PersistAndSendAsync(vote);

        Assert.Equal(["save:start", "save:done", "append:start", "append:done"], Calls);
    }

    // §7: a follower installing a snapshot resets its log before anything else is written, so no hard state whose
    // commit points into the snapshot is ever durable beside the old, conflicting log.
    [Fact]
    public async Task PersistAndSend_ReadyWithASnapshot_ResetsTheLogThenSavesThenAppendsThenAcknowledges()
    {
        var ready = new Ready(
            softState: null,
            hardState: new HardState(3, null, 10),
            entries: [new Entry(11, 3, EntryType.Normal, default)],
            messages: [NewMessage("m1")],
            persistedMessages: [NewMessage("p1")],
            committedEntries: [],
            snapshot: new SnapshotMetadata(10, 3, new Raft.Core.Membership.ClusterConfiguration(["a", "b"])));

        await _processor.PersistAndSendAsync(ready);

        Assert.Equal(["send:m1", "reset:10", "save:start", "save:done", "append:start", "append:done", "send:p1"], Calls);
    }

    // A snapshot's data travels as a stream beside the message, so InstallSnapshot goes to the host's hook instead.
    [Fact]
    public void PersistAndSend_WithASnapshotHook_RoutesInstallSnapshotToItAndTheRestToTheTransport()
    {
        var hooked = new List<Message>();
        var processor = new ReadyProcessor(_logStore, _hardStateStore, new RecordingTransport(_calls), hooked.Add);
        var install = NewMessage("snap") with { Type = MessageType.InstallSnapshot };
        var ready = new Ready(
            softState: null,
            hardState: null,
            entries: [],
            messages: [NewMessage("m1"), install, NewMessage("m2")],
            persistedMessages: [NewMessage("p1")],
            committedEntries: []);

        Assert.True(processor.PersistAndSendAsync(ready).IsCompletedSuccessfully);

        Assert.Same(install, Assert.Single(hooked));
        Assert.Equal(["send:m1", "send:m2", "send:p1"], Calls);
    }

    [Fact]
    public void Constructor_NullArguments_Throw()
    {
        var transport = new RecordingTransport(_calls);
        Assert.Throws<ArgumentNullException>(() => new ReadyProcessor(null!, _hardStateStore, transport));
        Assert.Throws<ArgumentNullException>(() => new ReadyProcessor(_logStore, null!, transport));
        Assert.Throws<ArgumentNullException>(() => new ReadyProcessor(_logStore, _hardStateStore, null!));
    }

    // Makes the term and vote of NewReady durable, so later readies with that hard state only move the commit index
    // (and are not saved).
    private void Prime()
    {
        Assert.True(_processor.PersistAndSendAsync(NewReady(entries: [])).IsCompletedSuccessfully);
        _mark = _calls.Calls.Count;
    }

    private static Ready NewReady(bool withHardState = true, IReadOnlyList<Entry>? entries = null) => new(
        softState: null,
        hardState: withHardState ? new HardState(2, "a", 0) : null,
        entries: entries ?? [new Entry(1, 2, EntryType.NoOp, default), new Entry(2, 2, EntryType.Normal, new byte[] { 1 })],
        messages: [NewMessage("m1"), NewMessage("m2")],
        persistedMessages: [NewMessage("p1"), NewMessage("p2")],
        committedEntries: []);

    private static Message NewMessage(string tag) =>
        new() { Type = MessageType.AppendEntries, From = "a", To = "b", Term = 2, Context = Encoding.UTF8.GetBytes(tag) };

    private Task WaitForCallAsync(string call) =>
        Raft.Testing.Conformance.Eventually.TrueAsync(() => Calls.Contains(call), call);
}
