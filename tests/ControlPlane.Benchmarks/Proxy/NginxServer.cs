using System.Diagnostics;
using System.Globalization;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.Processes;

namespace ControlPlane.Benchmarks.Proxy;

/// <summary>
/// One nginx (Debian package) in a process of its own, from a configuration written to a temporary
/// directory: the backend both proxies forward to (a fixed body, as fast as nginx answers), and nginx
/// as the baseline reverse proxy to that backend, configured as a careful operator would for an API
/// gateway: HTTP/1.1 keep-alive to the backend with a connection pool, the forwarding headers our
/// dataplane sets, no access log (the dataplane logs at Warning).
/// </summary>
internal sealed class NginxServer : IAsyncDisposable
{
    private const string Executable = "/usr/sbin/nginx";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly string _directory;

    private NginxServer(Process process, string directory, int backendPort, int proxyPort)
    {
        _process = process;
        _directory = directory;
        BackendPort = backendPort;
        ProxyPort = proxyPort;
    }

    public int BackendPort { get; }

    public int ProxyPort { get; }

    public static bool IsInstalled => File.Exists(Executable);

    /// <summary>"nginx/1.22.1".</summary>
    public static async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo(Executable, "-v") { RedirectStandardError = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("Could not run nginx -v.");
        var text = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return text.Trim().Replace("nginx version: ", "", StringComparison.Ordinal);
    }

    /// <summary>Starts nginx: a backend on one free port answering <paramref name="bodyBytes"/> bytes, and the proxy of <paramref name="prefix"/> to it on another.</summary>
    public static async Task<NginxServer> StartAsync(int bodyBytes, string prefix, CancellationToken cancellationToken)
    {
        if (!IsInstalled)
        {
            throw new InvalidOperationException("nginx is not installed: apt-get install nginx.");
        }
        int backendPort = EtcdServer.FreePort(), proxyPort = EtcdServer.FreePort();
        var directory = Directory.CreateTempSubdirectory("controlplane-bench-nginx-").FullName;
        var body = new string('x', bodyBytes);
        File.WriteAllText(Path.Combine(directory, "nginx.conf"), string.Create(CultureInfo.InvariantCulture, $$"""
            daemon off;
            master_process on;
            {{(Environment.UserName == "root" ? "user root root;" : "")}}
            worker_processes auto;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                client_body_temp_path {{directory}}/body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                keepalive_requests 10000000;
                keepalive_timeout 300s;
                upstream backend {
                    server 127.0.0.1:{{backendPort}};
                    keepalive 256;
                    keepalive_requests 10000000;
                }
                # The backend: a fixed body.
                server {
                    listen 127.0.0.1:{{backendPort}};
                    location / {
                        default_type text/plain;
                        return 200 "{{body}}";
                    }
                }
                # The baseline proxy: {{prefix}}/<path> to the backend's /<path>, as the dataplane forwards /g/<image>/<path>.
                server {
                    listen 127.0.0.1:{{proxyPort}};
                    location {{prefix}}/ {
                        proxy_pass http://backend/;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                        proxy_set_header X-Forwarded-Proto $scheme;
                        proxy_set_header X-Forwarded-Host $host;
                        proxy_set_header X-Forwarded-Prefix {{prefix}};
                        proxy_set_header X-Request-ID $request_id;
                        proxy_connect_timeout 5s;
                        proxy_read_timeout 30s;
                    }
                }
            }
            """));
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-p");
        start.ArgumentList.Add(directory);
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Path.Combine(directory, "nginx.conf"));
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start nginx.");
        var server = new NginxServer(process, directory, backendPort, proxyPort);
        try
        {
            await server.WaitListeningAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task WaitListeningAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"nginx exited with {_process.ExitCode}: {ErrorLog()}");
            }
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{BackendPort}/", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"nginx did not answer within {StartTimeout.TotalSeconds:0} s: {ErrorLog()}");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    private string ErrorLog()
    {
        var path = Path.Combine(_directory, "error.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no error log)";
    }

    public ValueTask DisposeAsync()
    {
        ChildProcess.Kill(_process);
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the system's temporary-file cleanup.
        }
        return ValueTask.CompletedTask;
    }
}
