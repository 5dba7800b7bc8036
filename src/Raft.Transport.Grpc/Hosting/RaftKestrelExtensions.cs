using System.Security.Authentication;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Raft.Transport.Grpc.Security;

namespace Raft.Transport.Grpc.Hosting;

/// <summary>Kestrel settings for an endpoint that serves Raft peers.</summary>
public static class RaftKestrelExtensions
{
    /// <summary>Serves HTTP/2 over TLS with this node's certificate; with mutual TLS, callers must present a certificate that chains to the CA.</summary>
    /// <param name="listenOptions">The Kestrel endpoint.</param>
    /// <param name="tls">The TLS settings (the same as the transport's <see cref="GrpcTransportOptions.Tls"/>).</param>
    /// <returns><paramref name="listenOptions"/>.</returns>
    /// <exception cref="ArgumentException">The TLS settings are inconsistent; the message names the setting.</exception>
    public static ListenOptions UseRaftTls(this ListenOptions listenOptions, GrpcTlsOptions tls)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        ArgumentNullException.ThrowIfNull(tls);
        return listenOptions.UseRaftTls(TlsMaterial.Load(tls));
    }

    internal static ListenOptions UseRaftTls(this ListenOptions listenOptions, TlsMaterial tls)
    {
        listenOptions.Protocols = HttpProtocols.Http2;
        return listenOptions.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = tls.Certificate,
            ClientCertificateMode = tls.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate,
            ClientCertificateValidation = (certificate, chain, errors) => tls.ValidateClient(certificate, chain, errors),
            CheckCertificateRevocation = false,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        });
    }
}
