#Requires -Version 7.2
<#
.SYNOPSIS
Registers signl4-sentinel in one Microsoft Entra tenant: app registration, Microsoft Graph
permissions with admin consent, a client secret or certificate, the Sentinel and Log Analytics
roles on the workspace, Monitoring Metrics Publisher on the data collection rule, and prints the
configuration.

.DESCRIPTION
The PowerShell way SIGNL4's own Sentinel integration was set up (registerSIGNL4Client.ps1,
signl4.md section 4.4), with today's least-privilege roles instead of Sentinel Contributor at
subscription scope and Directory.AccessAsUser.All:

 1. signs in to Microsoft Graph (Connect-MgGraph) with Application.ReadWrite.All and
    AppRoleAssignment.ReadWrite.All only (-WhatIf: Application.Read.All), and to Azure
    (Connect-AzAccount) when a workspace or data collection rule is given;
 2. finds the app registration (-ClientId, or by -DisplayName) or creates it, and its service
    principal; with -ManagedIdentityObjectId it uses that managed identity instead;
 3. adds the Microsoft Graph application permissions SecurityAlert.ReadWrite.All and
    SecurityIncident.ReadWrite.All (-ReadOnly: SecurityAlert.Read.All and
    SecurityIncident.Read.All, for paging without write-back) and grants admin consent (app role
    assignments on the Microsoft Graph service principal; microsoft-apis.md section 2.1);
 4. creates a client secret (-Credential Secret, the default), or uploads a certificate
    (-Credential Certificate -CertificatePath), and/or adds a federated credential for AKS
    workload identity (-FederatedIssuer, -FederatedSubject);
 5. assigns Microsoft Sentinel Responder (-ReadOnly: Microsoft Sentinel Reader) and Log
    Analytics Reader on the workspace (-CustomQueryRole: instead of Log Analytics Reader, a custom
    role with only the three Microsoft.OperationalInsights read actions), and Monitoring Metrics
    Publisher on the data collection rule (the SIGNL4_CL audit trail; microsoft-apis.md 5.2);
 6. writes the configuration to the pipeline (progress goes to the host), ready for
    `signl4-sentinel config check`.

Idempotent: what is in place is left alone, so running it again changes nothing. A valid client
secret made by an earlier run (by this script or deploy/register-app.sh) is kept; its value cannot
be read back (-RotateSecret adds a new one). -WhatIf signs in and reads, lists what would change,
and changes nothing. -Confirm asks before each change.

Who can run it: creating the app needs Application Developer (or Cloud Application
Administrator); granting Microsoft Graph application permissions needs Privileged Role
Administrator (or Global Administrator); the workspace and DCR roles need Role Based Access
Control Administrator (or User Access Administrator / Owner) there; -CustomQueryRole needs User
Access Administrator or Owner on the workspace's resource group (it creates a role definition).

Modules: Microsoft.Graph.Authentication, and Az.Accounts for the Azure roles:
  Install-Module Microsoft.Graph.Authentication, Az.Accounts -Scope CurrentUser

.PARAMETER TenantId
The Directory (tenant) ID.

.PARAMETER DisplayName
Display name of the app registration (default: signl4-sentinel).

.PARAMETER ClientId
Use this existing app registration instead of looking it up by display name.

.PARAMETER ManagedIdentityObjectId
Grant the permissions and roles to this managed identity (its object / principal id) instead of
an app registration, e.g. the user-assigned identity made by deploy/bicep/main.bicep.

.PARAMETER ReadOnly
Read-only Graph permissions and Microsoft Sentinel Reader; the printed configuration turns
write-back off ([tenant.sync] enabled = false).

.PARAMETER Credential
Secret (default), Certificate or None.

.PARAMETER CertificatePath
Public certificate (.cer / .crt / .pem) to upload. Make one, e.g.:
  openssl req -x509 -newkey rsa:3072 -nodes -days 365 -subj /CN=signl4-sentinel -keyout key.pem -out cert.pem

.PARAMETER CertificateKeyPath
Where the connector will read that certificate with its private key (cat cert.pem key.pem > file),
for the printed certificate_path (default /etc/signl4-sentinel/<ConfigName>.pem).

.PARAMETER NonInteractive
For pipelines: never prompt. Uses the current Microsoft Graph / Azure sessions when they are
signed in to -TenantId; otherwise signs in as a service principal from the environment:
AZURE_CLIENT_ID with AZURE_FEDERATED_TOKEN_FILE (a federated token, e.g. a pipeline's OIDC
token; preferred), with AZURE_CLIENT_CERTIFICATE_PATH (a PFX or PEM with its key), or with
AZURE_CLIENT_SECRET. Fails when none is set. The service principal needs the Graph application
permissions Application.ReadWrite.All and AppRoleAssignment.ReadWrite.All (and the Azure role
rights for the workspace and DCR roles).

.PARAMETER SecretMonths
Lifetime of a new client secret, 1 to 24 months (default 12; a tenant policy may cap it).

.PARAMETER RotateSecret
Add a new client secret even when a valid one exists.

.PARAMETER FederatedIssuer
AKS OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl).

.PARAMETER FederatedSubject
The Kubernetes service account, e.g. system:serviceaccount:signl4:signl4-sentinel.

.PARAMETER WorkspaceResourceId
/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>

.PARAMETER CustomQueryRole
Create and assign a custom role with the three Microsoft.OperationalInsights read actions
instead of Log Analytics Reader.

.PARAMETER DataCollectionRuleResourceId
/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Insights/dataCollectionRules/<name>
(the dcrId output of deploy/bicep/main.bicep).

.PARAMETER Cloud
public (default), usgov or china.

.PARAMETER ConfigName
The tenant's short name in the configuration (default: tenant).

.PARAMETER EnvFile
Write a new client secret to this file as NAME=value (owner-only on Linux and macOS) instead of
showing it on the screen.

.EXAMPLE
./deploy/Register-Signl4Sentinel.ps1 -TenantId 72f988bf-0000-4000-8000-000000000001 -ConfigName contoso -WhatIf

.EXAMPLE
$ws = '/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-workspace'
./deploy/Register-Signl4Sentinel.ps1 -TenantId 72f988bf-0000-4000-8000-000000000001 -ConfigName contoso -WorkspaceResourceId $ws -EnvFile ./signl4-sentinel.env | Set-Content signl4-sentinel.toml
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $TenantId,

    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9 ._-]{0,119}$')]
    [string] $DisplayName = 'signl4-sentinel',

    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $ClientId,

    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $ManagedIdentityObjectId,

    [switch] $ReadOnly,

    [ValidateSet('Secret', 'Certificate', 'None')]
    [string] $Credential = 'Secret',

    [string] $CertificatePath,

    [ValidatePattern('^/[^"]*$')]
    [string] $CertificateKeyPath,

    [switch] $NonInteractive,

    [ValidateRange(1, 24)]
    [int] $SecretMonths = 12,

    [switch] $RotateSecret,

    [ValidatePattern('^https://\S+$')]
    [string] $FederatedIssuer,

    [ValidatePattern('^[A-Za-z0-9:._/-]+$')]
    [string] $FederatedSubject,

    [ValidatePattern('^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9._()]+/providers/Microsoft\.OperationalInsights/workspaces/[A-Za-z0-9][-A-Za-z0-9]*[A-Za-z0-9]$')]
    [string] $WorkspaceResourceId,

    [switch] $CustomQueryRole,

    [ValidatePattern('^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9._()]+/providers/Microsoft\.Insights/dataCollectionRules/[-A-Za-z0-9._]+$')]
    [string] $DataCollectionRuleResourceId,

    [ValidateSet('public', 'usgov', 'china')]
    [string] $Cloud = 'public',

    [ValidatePattern('^[A-Za-z0-9_-]{1,40}$')]
    [string] $ConfigName = 'tenant',

    [string] $EnvFile
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# -WhatIf is handled by Test-Change below, so that the reads it needs still run: cmdlets called
# from here must not inherit the preference.
$script:DryRun = [bool]$WhatIfPreference
$WhatIfPreference = $false
$script:Cmdlet = $PSCmdlet
$TemplatePath = Join-Path $PSScriptRoot 'config-snippet.toml.in'

# Microsoft Graph and its application permissions (microsoft-apis.md 2.1, signl4.md 4.4). The
# ids are looked up by name on the Graph service principal; these are the expected values.
$GraphAppId = '00000003-0000-0000-c000-000000000000'
$ExpectedRoleId = @{
    'SecurityAlert.ReadWrite.All'    = 'ed4fca05-be46-441f-9803-1873825f8fdb'
    'SecurityIncident.ReadWrite.All' = '34bf0e97-1971-4929-b999-9e2442d941d7'
    'SecurityAlert.Read.All'         = '472e4a4d-bb4a-4026-98d1-0b0d74cb74a5'
    'SecurityIncident.Read.All'      = '45cc0394-e837-488b-a098-1918f48d186c'
}
# Built-in Azure roles (the same ids in every tenant).
$RoleSentinelResponder = '3e150937-b8fe-4cfb-8069-0eaf05ecd056'
$RoleSentinelReader = '8d289c81-5878-46d4-8554-54e1e3d8b5cb'
$RoleLogAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'
$RoleMonitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
# The three read actions of the incumbent's custom role (signl4.md 4.4).
$QueryActions = @(
    'Microsoft.OperationalInsights/workspaces/read',
    'Microsoft.OperationalInsights/workspaces/query/read',
    'Microsoft.OperationalInsights/workspaces/query/*/read'
)
# Display name of the client secrets this script (and deploy/register-app.sh) creates.
$SecretName = 'signl4-sentinel connector'

function Write-Step([string] $Text) { Write-Host "› $Text" }
function Write-Ok([string] $Text) { Write-Host "  ✓ $Text" }
function Write-Note([string] $Text) { Write-Host "  ! $Text" -ForegroundColor Yellow }

# Test-Change: $true when a change may be made now. Under -WhatIf it prints what would be done
# and returns $false; under -Confirm it asks.
function Test-Change([string] $Target, [string] $Action) {
    if ($script:DryRun) {
        Write-Host "  ~ What if: $Action ($Target)" -ForegroundColor Cyan
        return $false
    }
    if (-not $script:Cmdlet.ShouldProcess($Target, $Action)) {
        return $false
    }
    Write-Host "  + $Action" -ForegroundColor Green
    return $true
}

# Invoke-Replicated: run the script block; when it fails only because an object made moments ago
# has not replicated yet (Graph Request_ResourceNotFound, ARM PrincipalNotFound or
# RoleDefinitionDoesNotExist), try again: at most 6 tries, 10, 20, 30, 30, 30 s apart. Any
# other error is thrown at once (microsoft-apis.md: directory writes replicate asynchronously).
function Invoke-Replicated([scriptblock] $Action) {
    for ($try = 1; ; $try++) {
        try {
            return (& $Action)
        }
        catch {
            $code = [regex]::Match("$_", 'Request_ResourceNotFound|PrincipalNotFound|RoleDefinitionDoesNotExist').Value
            if ($try -ge 6 -or -not $code) { throw }
            $wait = [Math]::Min(10 * $try, 30)
            Write-Note "not replicated yet ($code); try $($try + 1) of 6 in $wait s"
            Start-Sleep -Seconds $wait
        }
    }
}

function Invoke-Graph([string] $Method, [string] $Path, $Body) {
    $request = @{ Method = $Method; Uri = "v1.0/$Path"; OutputType = 'PSObject' }
    if ($null -ne $Body) {
        $request.Body = ConvertTo-Json -InputObject $Body -Depth 10 -Compress
        $request.ContentType = 'application/json'
    }
    Invoke-MgGraphRequest @request
}

# Find-Graph: GET, or $null when the object does not exist.
function Find-Graph([string] $Path) {
    try {
        Invoke-Graph -Method GET -Path $Path
    }
    catch {
        if ("$_" -match 'Request_ResourceNotFound|ResourceNotFound|NotFound|\b404\b') {
            return $null
        }
        throw
    }
}

# Invoke-Arm: an Azure Resource Manager request (-Path relative to the cloud's ARM endpoint, or
# an absolute -Uri such as a nextLink); throws on HTTP errors with the answer's body.
function Invoke-Arm([string] $Method, [string] $Path, $Body, [string] $Uri) {
    $request = @{ Method = $Method }
    if ($Uri) { $request.Uri = $Uri } else { $request.Path = $Path }
    if ($null -ne $Body) {
        $request.Payload = ConvertTo-Json -InputObject $Body -Depth 10 -Compress
    }
    $response = Invoke-AzRestMethod @request
    if ($response.StatusCode -ge 400) {
        throw "Azure Resource Manager answered $($response.StatusCode) to $Method $Path${Uri}: $($response.Content)"
    }
    if ($response.Content) {
        return ($response.Content | ConvertFrom-Json)
    }
    return $null
}

function Get-Prop($Object, [string] $Name) {
    if ($null -eq $Object) { return $null }
    $p = $Object.PSObject.Properties[$Name]
    if ($null -eq $p) { return $null }
    return $p.Value
}

# Format-Config renders config-snippet.toml.in: @@KEY@@ from $Values, "##if NAME" blocks kept
# when $Flags[NAME] is true ("##if !NAME" when false), "#=" lines dropped. deploy/register-app.sh
# renders the same template the same way.
function Format-Config([hashtable] $Values, [hashtable] $Flags) {
    $lines = [System.Collections.Generic.List[string]]::new()
    $stack = [System.Collections.Generic.List[bool]]::new()
    foreach ($line in (Get-Content -LiteralPath $TemplatePath -Encoding utf8)) {
        if ($line.StartsWith('#=')) {
            continue
        }
        if ($line -match '^##if (!?)([A-Z_]+)\s*$') {
            $on = [bool]$Flags[$Matches[2]]
            if ($Matches[1] -eq '!') { $on = -not $on }
            $stack.Add($on)
            continue
        }
        if ($line -match '^##endif') {
            if ($stack.Count -eq 0) { throw "unbalanced ##endif in $TemplatePath" }
            $stack.RemoveAt($stack.Count - 1)
            continue
        }
        if ($stack.Contains($false)) {
            continue
        }
        foreach ($m in [regex]::Matches($line, '@@([A-Z_]+)@@')) {
            $key = $m.Groups[1].Value
            if (-not $Values.ContainsKey($key)) { throw "no value for @@$key@@ in $TemplatePath" }
            $line = $line.Replace($m.Value, [string]$Values[$key])
        }
        $lines.Add($line)
    }
    if ($stack.Count -ne 0) { throw "unbalanced ##if in $TemplatePath" }
    return ($lines -join [Environment]::NewLine)
}

# --- input checks (before anything is signed in to or changed) -------------------------------
if (-not (Test-Path -LiteralPath $TemplatePath)) {
    throw "cannot read $TemplatePath (keep config-snippet.toml.in next to this script)"
}
if ($ClientId -and $ManagedIdentityObjectId) {
    throw '-ClientId and -ManagedIdentityObjectId exclude each other'
}
if ($CertificatePath) { $Credential = 'Certificate' }
if ($Credential -eq 'Certificate' -and -not $CertificatePath) {
    throw '-Credential Certificate needs -CertificatePath'
}
if ([bool]$FederatedIssuer -ne [bool]$FederatedSubject) {
    throw '-FederatedIssuer and -FederatedSubject go together'
}
if ($ManagedIdentityObjectId) {
    if ($FederatedIssuer) {
        throw 'a user-assigned managed identity gets its federated credential on the identity itself (New-AzFederatedIdentityCredential, or deploy/bicep/main.bicep with aksOidcIssuer)'
    }
    $Credential = 'None'
}
if ($CustomQueryRole -and -not $WorkspaceResourceId) {
    throw '-CustomQueryRole needs -WorkspaceResourceId'
}
$Certificate = $null
if ($Credential -eq 'Certificate') {
    $Certificate = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new((Resolve-Path -LiteralPath $CertificatePath).Path)
}
$Subscription = ''
$ResourceGroup = ''
$WorkspaceName = ''
if ($WorkspaceResourceId) {
    $parts = $WorkspaceResourceId.Split('/')
    $Subscription = $parts[2]
    $ResourceGroup = $parts[4]
    $WorkspaceName = $parts[8]
}
if ($ReadOnly) {
    $GraphRoles = @('SecurityAlert.Read.All', 'SecurityIncident.Read.All')
    $SentinelRoleName = 'Microsoft Sentinel Reader'
    $SentinelRole = $RoleSentinelReader
}
else {
    $GraphRoles = @('SecurityAlert.ReadWrite.All', 'SecurityIncident.ReadWrite.All')
    $SentinelRoleName = 'Microsoft Sentinel Responder'
    $SentinelRole = $RoleSentinelResponder
}
$SecretEnv = ($ConfigName.ToUpperInvariant() -replace '-', '_') + '_CLIENT_SECRET'
if (-not $CertificateKeyPath) { $CertificateKeyPath = "/etc/signl4-sentinel/$ConfigName.pem" }
$FicAudience = @{ public = 'api://AzureADTokenExchange'; usgov = 'api://AzureADTokenExchangeUSGov'; china = 'api://AzureADTokenExchangeChina' }[$Cloud]

# --- 1. sign in -------------------------------------------------------------------------------
foreach ($module in @('Microsoft.Graph.Authentication')) {
    if (-not (Get-Module -ListAvailable -Name $module)) {
        throw "the PowerShell module $module is needed: Install-Module $module -Scope CurrentUser"
    }
}
if ($script:DryRun) {
    $GraphScopes = @('Application.Read.All')
    Write-Step 'what-if: reading only; nothing will be changed'
}
elseif ($ManagedIdentityObjectId) {
    $GraphScopes = @('Application.Read.All', 'AppRoleAssignment.ReadWrite.All')
}
else {
    $GraphScopes = @('Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All')
}
$MgEnvironment = @{ public = 'Global'; usgov = 'USGov'; china = 'China' }[$Cloud]
$AzEnvironment = @{ public = 'AzureCloud'; usgov = 'AzureUSGovernment'; china = 'AzureChinaCloud' }[$Cloud]
$NeedAzure = [bool]($WorkspaceResourceId -or $DataCollectionRuleResourceId)
# (These sign-ins are per PowerShell session: nothing global, such as a default cloud, changes.)
$context = Get-MgContext
$missing = @()
if ($context -and -not $NonInteractive) {
    $missing = @($GraphScopes | Where-Object { $context.Scopes -notcontains $_ })
}
$azContext = $null
if ($NeedAzure -or $NonInteractive) {
    if (-not (Get-Module -ListAvailable -Name Az.Accounts)) {
        throw 'the PowerShell module Az.Accounts is needed (for the Azure roles, and for -NonInteractive): Install-Module Az.Accounts -Scope CurrentUser'
    }
    $azContext = Get-AzContext
}
$azSignedIn = [bool]($azContext -and $azContext.Tenant.Id -eq $TenantId -and $azContext.Environment.Name -eq $AzEnvironment)
$mgSignedIn = [bool]($context -and $context.TenantId -eq $TenantId -and $missing.Count -eq 0)
if ($NonInteractive) {
    # A service principal from the environment (the Azure SDKs' names), never a prompt.
    $spId = $env:AZURE_CLIENT_ID
    $connect = @{ Tenant = $TenantId; Environment = $AzEnvironment; ServicePrincipal = $true }
    if ($Subscription) { $connect.Subscription = $Subscription }
    if ($mgSignedIn -and ($azSignedIn -or -not $NeedAzure)) {
        Write-Step 'using the current Microsoft Graph and Azure sessions (-NonInteractive)'
    }
    elseif ($spId -and $env:AZURE_FEDERATED_TOKEN_FILE) {
        Write-Step "signing in to tenant $TenantId as service principal $spId (federated token)"
        $token = (Get-Content -LiteralPath $env:AZURE_FEDERATED_TOKEN_FILE -Raw).Trim()
        Connect-AzAccount @connect -ApplicationId $spId -FederatedToken $token | Out-Null
        $graphToken = (Get-AzAccessToken -ResourceTypeName MSGraph -AsSecureString).Token
        Connect-MgGraph -AccessToken $graphToken -Environment $MgEnvironment -NoWelcome
    }
    elseif ($spId -and $env:AZURE_CLIENT_CERTIFICATE_PATH) {
        Write-Step "signing in to tenant $TenantId as service principal $spId (certificate)"
        $spCert = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($env:AZURE_CLIENT_CERTIFICATE_PATH, $env:AZURE_CLIENT_CERTIFICATE_PASSWORD)
        Connect-MgGraph -TenantId $TenantId -ClientId $spId -Certificate $spCert -Environment $MgEnvironment -NoWelcome
        if ($NeedAzure) {
            Connect-AzAccount @connect -ApplicationId $spId -CertificatePath $env:AZURE_CLIENT_CERTIFICATE_PATH | Out-Null
        }
    }
    elseif ($spId -and $env:AZURE_CLIENT_SECRET) {
        Write-Step "signing in to tenant $TenantId as service principal $spId (client secret)"
        $spCredential = [pscredential]::new($spId, (ConvertTo-SecureString $env:AZURE_CLIENT_SECRET -AsPlainText -Force))
        Connect-MgGraph -TenantId $TenantId -ClientSecretCredential $spCredential -Environment $MgEnvironment -NoWelcome
        if ($NeedAzure) {
            Connect-AzAccount @connect -Credential $spCredential | Out-Null
        }
    }
    else {
        throw "-NonInteractive: not signed in to tenant $TenantId and no service principal is given (AZURE_CLIENT_ID with AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_SECRET)"
    }
}
else {
    if (-not $mgSignedIn) {
        Write-Step "signing in to Microsoft Graph ($MgEnvironment), tenant $TenantId, scopes $($GraphScopes -join ', ')"
        Connect-MgGraph -TenantId $TenantId -Scopes $GraphScopes -Environment $MgEnvironment -NoWelcome
    }
    if ($NeedAzure -and -not $azSignedIn) {
        Write-Step "signing in to Azure ($AzEnvironment), tenant $TenantId"
        $connect = @{ Tenant = $TenantId; Environment = $AzEnvironment }
        if ($Subscription) { $connect.Subscription = $Subscription }
        Connect-AzAccount @connect | Out-Null
    }
}

# --- 2. the app registration and its service principal ----------------------------------------
$AppObjectId = $null
$AppId = $null
$SpObjectId = $null
$NewSecret = $null
if ($ManagedIdentityObjectId) {
    Write-Step "managed identity $ManagedIdentityObjectId"
    $sp = Find-Graph "servicePrincipals/$($ManagedIdentityObjectId)?`$select=id,appId,servicePrincipalType"
    if (-not $sp) {
        throw "no service principal with object id $ManagedIdentityObjectId in tenant $TenantId (use the identity's Object (principal) ID)"
    }
    if ($sp.servicePrincipalType -ne 'ManagedIdentity') {
        Write-Note "service principal $ManagedIdentityObjectId is of type $($sp.servicePrincipalType), not ManagedIdentity"
    }
    $SpObjectId = $sp.id
    $AppId = $sp.appId
    Write-Ok "service principal $SpObjectId (client id $AppId)"
}
else {
    Write-Step 'app registration'
    if ($ClientId) {
        $app = Find-Graph "applications(appId='$ClientId')?`$select=id,appId"
        if (-not $app) { throw "no app registration with client id $ClientId in tenant $TenantId" }
        Write-Ok "using app registration $ClientId (-ClientId)"
    }
    else {
        # (-DisplayName is validated: no quote to escape.)
        $found = @((Invoke-Graph -Method GET -Path "applications?`$filter=displayName eq '$DisplayName'&`$select=id,appId").value)
        if ($found.Count -gt 1) {
            throw "$($found.Count) app registrations are named '$DisplayName'; pass -ClientId to pick one"
        }
        $app = $null
        if ($found.Count -eq 1) {
            $app = $found[0]
            Write-Ok "reusing app registration '$DisplayName' ($($app.appId))"
        }
        elseif (Test-Change $DisplayName 'create the app registration (single tenant)') {
            $app = Invoke-Graph -Method POST -Path 'applications' -Body @{
                displayName    = $DisplayName
                signInAudience = 'AzureADMyOrg'
                notes          = 'signl4-sentinel: Microsoft Defender / Sentinel alerts to SIGNL4 (deploy/Register-Signl4Sentinel.ps1)'
            }
            Write-Ok "created app registration $($app.appId)"
        }
    }
    if ($app) {
        $AppObjectId = $app.id
        $AppId = $app.appId
        $sp = Find-Graph "servicePrincipals(appId='$AppId')?`$select=id"
        if ($sp) { $SpObjectId = $sp.id }
    }
    if ($SpObjectId) {
        Write-Ok "service principal $SpObjectId"
    }
    elseif (Test-Change $DisplayName 'create the service principal (enterprise application) of the app') {
        $SpObjectId = (Invoke-Graph -Method POST -Path 'servicePrincipals' -Body @{ appId = $AppId }).id
        Write-Ok "created service principal $SpObjectId"
    }
}

# --- 3. Microsoft Graph application permissions and admin consent ------------------------------
Write-Step "Microsoft Graph application permissions: $($GraphRoles -join ', ')"
$graphSp = Invoke-Graph -Method GET -Path "servicePrincipals(appId='$GraphAppId')?`$select=id,appRoles"
$roleId = @{}
$roleName = @{}
foreach ($r in $graphSp.appRoles) {
    if ($r.allowedMemberTypes -contains 'Application') {
        $roleId[$r.value] = $r.id
        $roleName[$r.id] = $r.value
    }
}
foreach ($role in $GraphRoles) {
    if (-not $roleId.ContainsKey($role)) { throw "Microsoft Graph has no application permission $role in this tenant" }
    if ($roleId[$role] -ne $ExpectedRoleId[$role]) {
        Write-Note "$role has id $($roleId[$role]) here (expected $($ExpectedRoleId[$role])); using $($roleId[$role])"
    }
}
if ($AppObjectId) {
    # The permissions the app asks for (API permissions); the consent is the grant below.
    $current = Invoke-Graph -Method GET -Path "applications/$($AppObjectId)?`$select=requiredResourceAccess"
    $access = @($current.requiredResourceAccess | ForEach-Object {
            @{ resourceAppId = $_.resourceAppId; resourceAccess = @($_.resourceAccess | ForEach-Object { @{ id = $_.id; type = $_.type } }) }
        })
    $graphEntry = $access | Where-Object { $_.resourceAppId -eq $GraphAppId } | Select-Object -First 1
    if (-not $graphEntry) {
        $graphEntry = @{ resourceAppId = $GraphAppId; resourceAccess = @() }
        $access += $graphEntry
    }
    $toAdd = @($GraphRoles | Where-Object {
            $wanted = $roleId[$_]
            -not ($graphEntry.resourceAccess | Where-Object { $_.type -eq 'Role' -and $_.id -eq $wanted })
        })
    foreach ($role in $GraphRoles) {
        if ($toAdd -notcontains $role) { Write-Ok "requested: $role" }
    }
    if ($toAdd.Count -gt 0 -and (Test-Change $DisplayName "add the application permissions $($toAdd -join ', ') to the app registration")) {
        foreach ($role in $toAdd) {
            $graphEntry.resourceAccess += @{ id = $roleId[$role]; type = 'Role' }
        }
        Invoke-Graph -Method PATCH -Path "applications/$AppObjectId" -Body @{ requiredResourceAccess = $access } | Out-Null
    }
}
elseif (-not $ManagedIdentityObjectId) {
    Test-Change $DisplayName "add the application permissions $($GraphRoles -join ', ') to the app registration" | Out-Null
}
$granted = @()
if ($SpObjectId) {
    $granted = @((Invoke-Graph -Method GET -Path "servicePrincipals/$SpObjectId/appRoleAssignments").value |
            Where-Object { $_.resourceId -eq $graphSp.id } | ForEach-Object { $_.appRoleId })
}
foreach ($role in $GraphRoles) {
    if ($granted -contains $roleId[$role]) {
        Write-Ok "admin consent: $role"
    }
    elseif (Test-Change $DisplayName "grant admin consent for $role (app role assignment on Microsoft Graph)") {
        $grant = @{ principalId = $SpObjectId; resourceId = $graphSp.id; appRoleId = $roleId[$role] }
        Invoke-Replicated { Invoke-Graph -Method POST -Path "servicePrincipals/$SpObjectId/appRoleAssignments" -Body $grant } | Out-Null
    }
}
foreach ($id in $granted) {
    $name = $roleName[$id]
    if (-not $name) { $name = $id }
    if ($GraphRoles -notcontains $name) {
        Write-Note "also granted: $name (not needed by signl4-sentinel; left as it is)"
    }
}

# --- 4. credentials ---------------------------------------------------------------------------
if ($Credential -eq 'Secret') {
    Write-Step "client secret '$SecretName'"
    $validUntil = $null
    if ($AppObjectId) {
        $creds = (Invoke-Graph -Method GET -Path "applications/$($AppObjectId)?`$select=passwordCredentials").passwordCredentials
        $ends = @($creds | Where-Object { $_.displayName -eq $SecretName } |
                ForEach-Object { [datetime]$_.endDateTime } | Sort-Object)
        if ($ends.Count -gt 0) { $validUntil = $ends[$ends.Count - 1] }
    }
    if ($validUntil -and $validUntil -gt (Get-Date).AddDays(30) -and -not $RotateSecret) {
        Write-Ok "kept the existing secret (valid until $($validUntil.ToString('u')); its value cannot be shown again, -RotateSecret adds a new one)"
    }
    elseif (Test-Change $DisplayName "create a client secret valid for $SecretMonths months") {
        $password = @{
            passwordCredential = @{
                displayName = $SecretName
                endDateTime = (Get-Date).ToUniversalTime().AddMonths($SecretMonths).ToString('yyyy-MM-ddTHH:mm:ssZ')
            }
        }
        $added = Invoke-Replicated { Invoke-Graph -Method POST -Path "applications/$AppObjectId/addPassword" -Body $password }
        $NewSecret = $added.secretText
        Write-Ok 'created a client secret'
        if ($validUntil) {
            Write-Note "the older secret (valid until $($validUntil.ToString('u'))) still works; delete it in Certificates & secrets once the new one is deployed"
        }
    }
}
elseif ($Credential -eq 'Certificate') {
    Write-Step "certificate $($Certificate.Subject) (thumbprint $($Certificate.Thumbprint))"
    $thumb = [Convert]::ToBase64String($Certificate.GetCertHash())
    $keys = @()
    if ($AppObjectId) {
        # keyCredentials come with their key only for $select on one object; PATCH replaces them all.
        $keys = @((Invoke-Graph -Method GET -Path "applications/$($AppObjectId)?`$select=keyCredentials").keyCredentials)
    }
    if ($keys | Where-Object { $_.customKeyIdentifier -eq $thumb }) {
        Write-Ok 'already uploaded'
    }
    elseif (Test-Change $DisplayName "upload the certificate (thumbprint $($Certificate.Thumbprint), valid until $($Certificate.NotAfter.ToString('u')))") {
        $all = @($keys | ForEach-Object {
                @{ customKeyIdentifier = $_.customKeyIdentifier; displayName = $_.displayName; endDateTime = $_.endDateTime
                    key = $_.key; keyId = $_.keyId; startDateTime = $_.startDateTime; type = $_.type; usage = $_.usage }
            })
        $all += @{
            displayName = "$SecretName ($($Certificate.Subject))"
            key         = [Convert]::ToBase64String($Certificate.RawData)
            type        = 'AsymmetricX509Cert'
            usage       = 'Verify'
        }
        Invoke-Replicated { Invoke-Graph -Method PATCH -Path "applications/$AppObjectId" -Body @{ keyCredentials = $all } } | Out-Null
    }
}
if ($FederatedIssuer) {
    Write-Step "federated credential for $FederatedSubject"
    $fics = @()
    if ($AppObjectId) {
        $fics = @((Invoke-Graph -Method GET -Path "applications/$AppObjectId/federatedIdentityCredentials").value)
    }
    $ficName = ('signl4-sentinel-' + $FederatedSubject.Split(':')[-1]) -replace '[^A-Za-z0-9-]', '-'
    if ($ficName.Length -gt 120) { $ficName = $ficName.Substring(0, 120) }
    if ($fics | Where-Object { $_.issuer -eq $FederatedIssuer -and $_.subject -eq $FederatedSubject }) {
        Write-Ok 'already present'
    }
    elseif (Test-Change $DisplayName "add the federated credential $ficName (issuer $FederatedIssuer)") {
        $fic = @{ name = $ficName; issuer = $FederatedIssuer; subject = $FederatedSubject; audiences = @($FicAudience) }
        Invoke-Replicated { Invoke-Graph -Method POST -Path "applications/$AppObjectId/federatedIdentityCredentials" -Body $fic } | Out-Null
    }
}

# --- 5. Azure roles ---------------------------------------------------------------------------
# Set-RoleAssignment: assign the role (definition GUID) at Scope unless the principal has it
# there or above (resource group, subscription, management group: atScope()).
function Set-RoleAssignment([string] $Display, [string] $RoleGuid, [string] $Scope) {
    $sub = $Scope.Split('/')[2]
    if ($SpObjectId) {
        $page = Invoke-Arm -Method GET -Path "$Scope/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&`$filter=atScope()"
        while ($page) {
            foreach ($a in $page.value) {
                $assignedRole = $a.properties.roleDefinitionId.Split('/')[-1]
                if ($a.properties.principalId -eq $SpObjectId -and $assignedRole -eq $RoleGuid) {
                    $at = $a.properties.scope
                    if ($at -eq $Scope) { Write-Ok $Display } else { Write-Ok "$Display (inherited from $at)" }
                    return
                }
            }
            $next = Get-Prop $page 'nextLink'
            $page = $null
            if ($next) { $page = Invoke-Arm -Method GET -Uri $next }
        }
    }
    if (-not (Test-Change $Scope "assign '$Display'")) {
        return
    }
    $body = @{
        properties = @{
            roleDefinitionId = "/subscriptions/$sub/providers/Microsoft.Authorization/roleDefinitions/$RoleGuid"
            principalId      = $SpObjectId
            principalType    = 'ServicePrincipal'
        }
    }
    $path = "$Scope/providers/Microsoft.Authorization/roleAssignments/$([guid]::NewGuid())?api-version=2022-04-01"
    try {
        # A new service principal or custom role can take a minute to replicate (retried by code).
        Invoke-Replicated { Invoke-Arm -Method PUT -Path $path -Body $body } | Out-Null
    }
    catch {
        if ("$_" -notmatch 'RoleAssignmentExists') { throw }
    }
}

$WorkspaceId = '<workspace id>'
if ($WorkspaceResourceId) {
    Write-Step "roles on workspace $WorkspaceName"
    Set-RoleAssignment $SentinelRoleName $SentinelRole $WorkspaceResourceId
    if ($CustomQueryRole) {
        $rgScope = "/subscriptions/$Subscription/resourceGroups/$ResourceGroup"
        $customName = "signl4-sentinel Log Analytics query - $ResourceGroup ($($Subscription.Substring(0, 8)))"
        $filter = [uri]::EscapeDataString("roleName eq '$customName'")
        $existing = @((Invoke-Arm -Method GET -Path "$rgScope/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&`$filter=$filter").value)
        $customGuid = $null
        if ($existing.Count -gt 0) {
            $customGuid = $existing[0].name
            Write-Ok "custom role '$customName' exists"
        }
        elseif (Test-Change $rgScope "create the custom role '$customName' (the three Microsoft.OperationalInsights read actions)") {
            $customGuid = [guid]::NewGuid().ToString()
            Invoke-Arm -Method PUT -Path "$rgScope/providers/Microsoft.Authorization/roleDefinitions/$($customGuid)?api-version=2022-04-01" -Body @{
                properties = @{
                    roleName         = $customName
                    description      = 'signl4-sentinel: read Log Analytics workspaces and run queries (rule-query enrichment)'
                    type             = 'CustomRole'
                    permissions      = @(@{ actions = $QueryActions; notActions = @() })
                    assignableScopes = @($rgScope)
                }
            } | Out-Null
        }
        if ($customGuid) {
            Set-RoleAssignment $customName $customGuid $WorkspaceResourceId
        }
        else {
            Test-Change $WorkspaceResourceId "assign '$customName'" | Out-Null
        }
    }
    else {
        Set-RoleAssignment 'Log Analytics Reader' $RoleLogAnalyticsReader $WorkspaceResourceId
    }
    $WorkspaceId = (Invoke-Arm -Method GET -Path "$($WorkspaceResourceId)?api-version=2022-10-01").properties.customerId
    Write-Ok "workspace id $WorkspaceId"
}
$DceUrl = '<logs ingestion endpoint>'
$DcrImmutableId = '<dcr immutable id>'
if ($DataCollectionRuleResourceId) {
    Write-Step "data collection rule $($DataCollectionRuleResourceId.Split('/')[-1])"
    Set-RoleAssignment 'Monitoring Metrics Publisher' $RoleMonitoringMetricsPublisher $DataCollectionRuleResourceId
    $dcr = Invoke-Arm -Method GET -Path "$($DataCollectionRuleResourceId)?api-version=2023-03-11"
    $DcrImmutableId = $dcr.properties.immutableId
    $streams = Get-Prop $dcr.properties 'streamDeclarations'
    if (-not $streams -or -not (Get-Prop $streams 'Custom-SIGNL4_CL')) {
        Write-Note 'the DCR declares no stream Custom-SIGNL4_CL (deploy it with deploy/bicep/main.bicep)'
    }
    $dceId = Get-Prop $dcr.properties 'dataCollectionEndpointId'
    $direct = Get-Prop (Get-Prop $dcr.properties 'endpoints') 'logsIngestion'
    if ($dceId) {
        $DceUrl = (Invoke-Arm -Method GET -Path "$($dceId)?api-version=2023-03-11").properties.logsIngestion.endpoint
    }
    elseif ($direct) {
        $DceUrl = $direct
    }
    Write-Ok "immutable id $DcrImmutableId, logs ingestion endpoint $DceUrl"
}

# --- 6. the configuration ---------------------------------------------------------------------
$clientIdValue = '<client id>'
if ($AppId) { $clientIdValue = $AppId }
$values = @{
    SCRIPT           = 'Register-Signl4Sentinel.ps1'
    TENANT_ID        = $TenantId
    NAME             = $ConfigName
    CLIENT_ID        = $clientIdValue
    SECRET_ENV       = $SecretEnv
    CLOUD            = $Cloud
    SENTINEL_NAME    = ($WorkspaceName -replace '[^A-Za-z0-9_-]', '_')
    SUBSCRIPTION_ID  = $Subscription
    RESOURCE_GROUP   = $ResourceGroup
    WORKSPACE_NAME   = $WorkspaceName
    WORKSPACE_ID     = $WorkspaceId
    DCE_URL          = $DceUrl
    DCR_IMMUTABLE_ID = $DcrImmutableId
    CERT_KEY_PATH    = $CertificateKeyPath
}
$flags = @{
    SECRET    = ($Credential -eq 'Secret')
    CERT      = ($Credential -eq 'Certificate')
    FEDERATED = [bool]$FederatedIssuer
    MI        = [bool]$ManagedIdentityObjectId
    CLOUD     = ($Cloud -ne 'public')
    READ_ONLY = [bool]$ReadOnly
    SENTINEL  = [bool]$WorkspaceResourceId
    AUDIT     = [bool]$DataCollectionRuleResourceId
}
Write-Output (Format-Config $values $flags)

Write-Host ''
if ($script:DryRun) { Write-Host 'what-if: nothing was changed.' }
if ($NewSecret) {
    if ($EnvFile) {
        $lines = @()
        if (Test-Path -LiteralPath $EnvFile) {
            $lines = @(Get-Content -LiteralPath $EnvFile | Where-Object { -not $_.StartsWith("$SecretEnv=") })
        }
        else {
            New-Item -ItemType File -Path $EnvFile | Out-Null
        }
        if (-not $IsWindows) {
            & chmod 600 -- (Resolve-Path -LiteralPath $EnvFile).Path
        }
        Set-Content -LiteralPath $EnvFile -Value ($lines + "$SecretEnv=$NewSecret") -Encoding utf8NoBOM
        Write-Host "The new client secret is in $EnvFile as $SecretEnv."
    }
    else {
        Write-Host 'The new client secret (shown once; put it in your secret store, e.g. /etc/signl4-sentinel.env):'
        Write-Host "  $SecretEnv=$NewSecret"
    }
}
if ($Credential -eq 'Certificate') {
    Write-Host "Put the certificate with its private key at $CertificateKeyPath (cat cert.pem key.pem > that file, owner-only) before ``signl4-sentinel config check``."
}
if ($ManagedIdentityObjectId) {
    Write-Host "The managed identity signs in (credential = `"managed_identity`"): run the connector where that identity is assigned."
}
if ($FederatedIssuer) {
    Write-Host "AKS workload identity: annotate the service account with azure.workload.identity/client-id: $AppId and label the pod azure.workload.identity/use: `"true`"."
}
if ($Credential -eq 'Secret') {
    Write-Host "Set SIGNL4_TEAM_SECRET and $SecretEnv before ``signl4-sentinel config check``."
}
else {
    Write-Host "Set SIGNL4_TEAM_SECRET before ``signl4-sentinel config check``."
}
Write-Host 'Consent and role assignments can take several minutes to apply (Log Analytics up to an hour, a DCR up to 30 minutes).'
