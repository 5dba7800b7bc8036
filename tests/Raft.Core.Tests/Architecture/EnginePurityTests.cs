using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using NetArchTest.Rules;
using Raft.Core.Engine;

namespace Raft.Core.Tests.Architecture;

/// <summary>
/// The engine is a pure state machine: the same inputs give the same outputs. These rules keep threads, clocks,
/// I/O and ambient randomness out of it, so the simulator's replays stay exact.
/// </summary>
public sealed class EnginePurityTests
{
    private static readonly string[] PureNamespaces =
    [
        "Raft.Core.Engine",
        "Raft.Core.Tracking",
        "Raft.Core.Quorum",
        "Raft.Core.Messages",
    ];

    private static readonly string[] Forbidden =
    [
        "System.Threading",
        "System.IO",
        "System.Net",
        "System.Diagnostics.Stopwatch",
        "System.DateTime",
        "System.DateTimeOffset",
        "System.TimeProvider",
        "System.Environment",
        "System.GC",
        "Microsoft.Extensions",
        "Raft.Core.Runtime",
        "Raft.Core.Storage",
        "Raft.Core.Transport",
    ];

    [Fact]
    public void PureNamespaces_DependOnNoThreadClockIoOrHost()
    {
        foreach (var ns in PureNamespaces)
        {
            var result = Types.InAssembly(typeof(RawNode).Assembly)
                .That().ResideInNamespace(ns)
                .ShouldNot().HaveDependencyOnAny(Forbidden)
                .GetResult();
            Assert.True(
                result.IsSuccessful,
                $"{ns} must stay pure; offending types: {string.Join(", ", result.FailingTypeNames ?? [])}");
        }
    }

    [Fact]
    public void Assembly_NeverCreatesAnUnseededRandom()
    {
        // new Random() and Random.Shared draw from ambient entropy; every Random must come from a configured seed.
        using var stream = File.OpenRead(typeof(RawNode).Assembly.Location);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var offenders = new List<string>();
        foreach (var handle in md.MemberReferences)
        {
            var member = md.GetMemberReference(handle);
            if (member.Parent.Kind != HandleKind.TypeReference)
            {
                continue;
            }

            var type = md.GetTypeReference((TypeReferenceHandle)member.Parent);
            if (md.GetString(type.Namespace) != "System" || md.GetString(type.Name) != "Random")
            {
                continue;
            }

            var name = md.GetString(member.Name);
            var blob = md.GetBlobReader(member.Signature);
            blob.ReadSignatureHeader();
            var parameterCount = name == ".ctor" ? blob.ReadCompressedInteger() : -1;
            if ((name == ".ctor" && parameterCount == 0) || name == "get_Shared")
            {
                offenders.Add($"Random.{name}");
            }
        }

        Assert.Empty(offenders);
    }
}
