# What `cmake --install` puts where, and the Debian package CPack builds from it
# (`cpack -G DEB` in a build directory; README: "Install"). The config and the
# logrotate snippet go below AUDITFWD_SYSCONFDIR (/etc whatever the prefix: the
# unit reads /etc/auditfwd/auditfwd.toml); everything else below the prefix.
# Stage with DESTDIR to install elsewhere than the running system.
set(AUDITFWD_SYSCONFDIR "/etc" CACHE PATH "Where the config and the logrotate snippet are installed (absolute)")
set(AUDITFWD_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING "systemd units, relative to the prefix")

# An operator's config is never overwritten by a later `cmake --install`
# (the package's conffile handling does the same for dpkg). 0644, so the service
# can read it; once it holds secrets, make it root:auditfwd 0640 (the package's
# postinst does that before the service first starts).
install(CODE "
  set(config \"\$ENV{DESTDIR}${AUDITFWD_SYSCONFDIR}/auditfwd/auditfwd.toml\")
  if(EXISTS \"\${config}\")
    message(STATUS \"Kept (exists): \${config}\")
  else()
    file(INSTALL DESTINATION \"${AUDITFWD_SYSCONFDIR}/auditfwd\" TYPE FILE
         FILES \"${PROJECT_SOURCE_DIR}/config/auditfwd.toml\")
  endif()")
install(FILES packaging/logrotate-auditfwd DESTINATION ${AUDITFWD_SYSCONFDIR}/logrotate.d RENAME auditfwd)
install(FILES systemd/auditfwd.service systemd/auditfwd.socket DESTINATION ${AUDITFWD_SYSTEMD_UNITDIR})
install(FILES packaging/sysusers.d-auditfwd.conf DESTINATION lib/sysusers.d RENAME auditfwd.conf)
install(FILES packaging/tmpfiles.d-auditfwd.conf DESTINATION lib/tmpfiles.d RENAME auditfwd.conf)
install(FILES config/auditfwd.toml config/container.toml DESTINATION ${CMAKE_INSTALL_DATADIR}/auditfwd/examples)
install(FILES config/examples/exec_forwarder.py DESTINATION ${CMAKE_INSTALL_DATADIR}/auditfwd/examples)
install(FILES packaging/systemd-dropins/exec-forwarder-jit.conf packaging/systemd-dropins/file-forwarder-paths.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/auditfwd/examples/systemd)

# Man pages and the changelog, compressed as Debian wants them (gzip -n: no timestamp).
find_program(GZIP_EXECUTABLE gzip REQUIRED)
configure_file(packaging/changelog.in ${PROJECT_BINARY_DIR}/packaging/changelog @ONLY)
set(compressed)
foreach(source docs/man/auditfwd.8 docs/man/auditfwd.toml.5 ${PROJECT_BINARY_DIR}/packaging/changelog)
  get_filename_component(name ${source} NAME)
  set(output ${PROJECT_BINARY_DIR}/packaging/${name}.gz)
  if(IS_ABSOLUTE ${source})
    set(input ${source})
  else()
    set(input ${PROJECT_SOURCE_DIR}/${source})
  endif()
  add_custom_command(OUTPUT ${output}
    COMMAND ${GZIP_EXECUTABLE} -9n -c ${input} > ${output}
    DEPENDS ${input} VERBATIM)
  list(APPEND compressed ${output})
endforeach()
add_custom_target(auditfwd_compressed_docs ALL DEPENDS ${compressed})
install(FILES ${PROJECT_BINARY_DIR}/packaging/auditfwd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${PROJECT_BINARY_DIR}/packaging/auditfwd.toml.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_BINARY_DIR}/packaging/changelog.gz packaging/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The Debian package. The maintainer scripts (packaging/debian) create the users
# (sysusers.d), the directories (tmpfiles.d), make the config readable by the
# service, and enable and start it the way debhelper's would.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME auditfwd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "durable audit-event relay for one host")
# CPack puts the summary on the Description: line; this is the extended part.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Local programs write audit events (one JSON object per line) to a Unix
socket; auditfwd checks each event, stamps it with the sender's
kernel-verified identity and delivers it to files, webhooks, syslog or TCP
collectors, or a program of your own, with a durable SQLite job queue and
retries for asynchronous delivery.")
set(CPACK_PACKAGE_CONTACT "auditfwd maintainers <auditfwd@example.org>")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/auditfwd/auditfwd")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd: systemd-sysusers and systemd-tmpfiles in the postinst, and the units.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
# libpq5 and librdkafka1 are loaded (dlopen) only by a daemon with a postgresql or kafka forwarder, so
# dpkg-shlibdeps cannot see them: recommended, installed by default, and a missing one is a config error.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate, libpq5, librdkafka1")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
