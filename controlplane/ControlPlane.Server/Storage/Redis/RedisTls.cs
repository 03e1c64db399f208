using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>Server certificate validation for <c>rediss://</c> against a private certificate authority.</summary>
internal static class RedisTls
{
    /// <summary>
    /// A validation callback accepting a certificate that chains to <paramref name="caFile"/>
    /// (PEM) and names the host; every other error (name mismatch, none presented) still refuses.
    /// </summary>
    public static RemoteCertificateValidationCallback TrustOnly(string caFile)
    {
        X509Certificate2Collection authority = [];
        try
        {
            authority.ImportFromPemFile(caFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"The Redis TLS CA file '{caFile}' cannot be read: {ex.Message}", ex);
        }
        if (authority.Count == 0)
        {
            throw new InvalidOperationException($"The Redis TLS CA file '{caFile}' holds no certificate.");
        }
        return (_, certificate, presentedChain, errors) =>
        {
            if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authority);
            // A private CA rarely publishes revocation lists the control plane could reach.
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (presentedChain is not null)
            {
                // Intermediates the server sent along.
                foreach (var element in presentedChain.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
            using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return chain.Build(presented);
        };
    }
}
