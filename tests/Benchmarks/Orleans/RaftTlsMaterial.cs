using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Orleans.Raft.Networking;
using Raft.Testing.Security;
using Raft.Transport.Grpc.Security;

namespace Benchmarks.Orleans;

// `--raft-tls`: a CA made for the run and a certificate per silo named after it, so that each silo's Raft endpoint
// runs mutual TLS with certificates bound to node ids (the transport's default).
internal sealed class RaftTlsMaterial : IDisposable
{
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa("orleans-benchmark-ca");
    private readonly ConcurrentDictionary<string, X509Certificate2> _certificates = new(StringComparer.Ordinal);

    public GrpcRaftStorageNetwork Network(string siloName)
    {
        var certificate = _certificates.GetOrAdd(siloName, name => TestCertificates.CreateNode(_ca, name));
        return new GrpcRaftStorageNetwork { ConfigureTransport = t => t.Tls = new GrpcTlsOptions { Certificate = certificate, CaCertificate = _ca } };
    }

    public void Dispose()
    {
        foreach (var certificate in _certificates.Values)
        {
            certificate.Dispose();
        }

        _ca.Dispose();
    }
}
